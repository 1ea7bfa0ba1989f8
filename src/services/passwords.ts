// Passwords: argon2id (OWASP's parameters: 19 MiB, 2 passes), at least 10 characters, and not one of
// the ~49,000 most common passwords (zxcvbn's list, loaded on first use so it costs no memory before).
import { createHash } from 'node:crypto';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { Invalid } from '../domain/errors.js';

const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
export const MIN_PASSWORD = 10;

let common: Set<string> | null = null;

async function commonPasswords(): Promise<Set<string>> {
  if (!common) {
    const { dictionary } = await import('@zxcvbn-ts/language-common');
    common = new Set((dictionary['passwords-common']).map((p) => p.toLowerCase()));
  }
  return common;
}

export async function checkPasswordPolicy(password: string, field = 'password'): Promise<void> {
  if (Array.from(password).length < MIN_PASSWORD) throw Invalid.field(field, `must be at least ${MIN_PASSWORD} characters`);
  if (password.length > 1024) throw Invalid.field(field, 'must be at most 1024 characters');
  if ((await commonPasswords()).has(password.toLowerCase())) throw Invalid.field(field, 'is one of the most common passwords; choose another');
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/**
 * A secret as an idempotency fingerprint holds it: argon2id as a password is stored, salted by what the
 * fingerprint belongs to (a caller's key), so that the same secret gives the same fingerprint there and
 * a stored fingerprint costs as much to guess from as a password hash does.
 */
export function secretFingerprint(secret: string, salt: string): Promise<string> {
  return hash(secret, { ...OPTIONS, salt: createHash('sha256').update(salt).digest().subarray(0, 16) });
}

/** A hash to verify against when the email is unknown, so both failures take the same time. */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword('decoy password that matches nothing ' + Math.random());
  return decoy;
}
