// Timestamps leave the product through toIso (JSON and CSV alike): it must be exactly toISOString.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toIso } from '../src/domain/time.js';

describe('toIso', () => {
  it('equals Date#toISOString over the whole range of dates', () => {
    fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
      expect(toIso(ms)).toBe(new Date(ms).toISOString());
    }), { numRuns: 20_000 });
  });

  it('equals it at the edges of days, years and the four-digit years', () => {
    const edges = [0, -1, 1, 999, 86_399_999, 86_400_000, -86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_000, -62_167_219_200_001];
    for (const ms of edges) expect(toIso(ms)).toBe(new Date(ms).toISOString());
  });
});
