// Assertions on problem documents, shared by the test files.
import { expect } from 'vitest';
import type { Answer } from './server.js';

/** An RFC 9457 problem document with the given status, and nothing of the server's insides in it. */
export function expectProblem(res: Answer, status: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(typeof res.body).toBe('object');
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  expect(res.body.type.length).toBeGreaterThan(0);
  expect(res.body.title.length).toBeGreaterThan(0);
  expect(res.body.detail.length).toBeGreaterThan(0);
  expect(JSON.stringify(res.body)).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\.ts:\d+|\.js:\d+|SQLITE|syntax error at/i);
}

/** A 422 that names `field` among its errors (and says `message`, when given). */
export function expectInvalid(res: Answer, field: string, message?: RegExp): void {
  expectProblem(res, 422);
  const errors = res.body.errors as Array<{ field: string; message: string }>;
  expect(Array.isArray(errors)).toBe(true);
  const hit = errors.find((e) => e.field === field);
  expect(hit, `errors ${JSON.stringify(errors)} name ${field}`).toBeDefined();
  if (message) expect(hit!.message).toMatch(message);
}
