// Text no database should store: NUL characters (PostgreSQL refuses them), lone UTF-16 surrogates (they
// cannot be encoded as UTF-8), and nesting deep enough to exhaust a recursive walk. Checked once, for
// every route, on the path parameters, the query and the body, before the schemas run.
import type { FastifyInstance } from 'fastify';
import { type FieldError, Invalid } from '../domain/errors.js';

export const MAX_DEPTH = 32;
const LONE_SURROGATE = /\p{Cs}/u;

function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (it holds a lone surrogate)';
  return null;
}

/** The first unacceptable piece of text in a parsed value, walked without recursion. */
export function findBadInput(root: unknown, rootPath: string): FieldError | null {
  const stack: Array<[unknown, string, number]> = [[root, rootPath, 0]];
  while (stack.length) {
    const [value, path, depth] = stack.pop()!;
    if (typeof value === 'string') {
      const message = textProblem(value);
      if (message) return { field: path || '(body)', message };
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_DEPTH) return { field: path || '(body)', message: `must not be nested more than ${MAX_DEPTH} levels deep` };
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        const childPath = path ? `${path}.${key}` : key;
        const keyProblem = textProblem(key);
        if (keyProblem) return { field: childPath, message: `key ${keyProblem}` };
        stack.push([child, childPath, depth + 1]);
      }
    }
  }
  return null;
}

export function installInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    // A streamed body (an upload) is not parsed here; its handler reads and checks it.
    const body = request.routeOptions.config.streamedBody ? null : request.body;
    const bad = findBadInput(request.params, '') ?? findBadInput(request.query, '') ?? findBadInput(body, '');
    if (bad) throw new Invalid([bad]);
  });
}
