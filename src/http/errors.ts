// The one place errors become RFC 9457 problem documents. Nothing else writes an error body; no stack
// trace, SQL or input value ever reaches a response.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type FieldError, Invalid, RateLimited } from '../domain/errors.js';

const PROBLEM_BASE = 'https://chatsby.dev/problems/';

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 410: 'Gone', 413: 'Content Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type', 422: 'Unprocessable Content',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export function problem(status: number, code: string, detail?: string, extra: Record<string, unknown> = {}): ProblemBody {
  return { type: PROBLEM_BASE + code, title: TITLES[status] ?? 'Error', status, ...(detail ? { detail } : {}), ...extra };
}

export function sendProblem(reply: FastifyReply, body: ProblemBody): FastifyReply {
  return reply.code(body.status).type('application/problem+json; charset=utf-8').send(body);
}

/** Fields no request may write (API.md): named as read-only rather than unknown. */
const READ_ONLY = new Set(['id', 'first_seen', 'last_seen', 'conversation_count', 'created_at', 'updated_at', 'archived']);

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldOf(e: AjvError): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const child = (e.params.missingProperty ?? e.params.additionalProperty) as string | undefined;
  return [path, child].filter(Boolean).join('.') || '(body)';
}

/** Turns schema errors into one message per field, in words a person can act on. */
export function validationErrors(errs: AjvError[], context: string, update: boolean): FieldError[] {
  const byField = new Map<string, string>();
  for (const e of errs) {
    // anyOf/oneOf add a summary error per branch; the branch errors say it better.
    if (e.keyword === 'anyOf' && byField.size) continue;
    const field = fieldOf(e) === '(body)' && context !== 'body' ? context : fieldOf(e);
    let message: string;
    if (e.keyword === 'additionalProperties') {
      const name = String(e.params.additionalProperty);
      message = READ_ONLY.has(name) || (name === 'source' && update) ? 'is read-only' : context === 'querystring' ? 'is not a known parameter' : 'is not a known field';
    } else if (e.keyword === 'required') message = 'is required';
    else if (e.keyword === 'type') message = `must be ${String(e.params.type).replace(',', ' or ')}`;
    else message = e.message ?? 'is invalid';
    if (!byField.has(field)) byField.set(field, message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError & { validation?: AjvError[]; validationContext?: string }, request: FastifyRequest, reply) => {
    if (error instanceof DomainError) {
      if (error instanceof RateLimited) reply.header('retry-after', String(error.retryAfterSeconds));
      const extra = { ...error.extra, ...(error instanceof Invalid ? { errors: error.errors } : {}) };
      return sendProblem(reply, problem(error.status, error.code, error.message, extra));
    }
    if (error.validation) {
      const errs = validationErrors(error.validation, error.validationContext ?? 'body', request.method === 'PATCH');
      return sendProblem(reply, problem(422, 'validation', errs.map((e) => `${e.field}: ${e.message}`).join('; '), { errors: errs }));
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(reply, problem(413, 'too-large', 'The request body is larger than this endpoint accepts'));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(reply, problem(415, 'unsupported-media-type', 'Send JSON: Content-Type: application/json'));
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendProblem(reply, problem(400, 'malformed', 'The body is not valid JSON'));
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendProblem(reply, problem(400, 'malformed', 'Content-Length does not match the body'));
      default:
        break;
    }
    if (error instanceof SyntaxError || error.statusCode === 400) return sendProblem(reply, problem(400, 'malformed', 'The request could not be read'));
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: { type: error.name, code: error.code, message: error.message, stack: error.stack } }, 'request failed');
    return sendProblem(reply, problem(status, status === 500 ? 'internal' : 'error', status === 500 ? 'Something went wrong on our side' : undefined));
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, problem(404, 'not-found', 'No such route'));
  });
}
