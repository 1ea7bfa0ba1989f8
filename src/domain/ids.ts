import { randomBytes } from 'node:crypto';

export const ID_PREFIX = {
  contact: 'ctc',
  conversation: 'cnv',
  message: 'msg',
  event: 'evt',
  note: 'nte',
  agent: 'agt',
  automation: 'aut',
  webhook: 'whk',
  delivery: 'dlv',
  export: 'exp',
  import: 'imp',
  key: 'key',
  user: 'usr',
  workspace: 'wsp',
  visitor: 'vis',
  consent: 'cns',
  job: 'job',
  erasure: 'ers',
} as const;
export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Lowercase base-36 text of `bytes` random bytes; 16 characters carry about 82 bits. */
export function randomToken(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 252) out += ALPHABET[b % 36]; // 252 = 7 * 36: rejection keeps every character equally likely
  }
  return out.length === length ? out : randomToken(length);
}

/** `ctc_` + 16 random base-36 characters (about 82 bits). */
export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${randomToken(16)}`;
}

export function hasPrefix(id: string, kind: IdKind): boolean {
  return id.startsWith(ID_PREFIX[kind] + '_') && id.length <= 64;
}
