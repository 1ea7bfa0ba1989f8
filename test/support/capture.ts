// Calls the capture tests make over and over: each asserts the success status and returns the body.
import { expect } from 'vitest';
import type { Client } from './server.js';

export async function start(api: Client, body: Record<string, unknown> = {}): Promise<any> {
  const res = await api.post('/v1/conversations', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

export async function contact(api: Client, id: string): Promise<any> {
  const res = await api.get(`/v1/contacts/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function timeline(api: Client, id: string): Promise<any[]> {
  const res = await api.get(`/v1/contacts/${id}/timeline?limit=200`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}
