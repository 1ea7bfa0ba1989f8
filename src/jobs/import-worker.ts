// A worker thread of an import: reads the uploaded file from the first row not yet committed, turns
// each record into a batch item under the mapping and puts the items through the rules that need no
// database (prepareBatch). It sends a chunk at a time, at most two ahead of the import's writes, so the
// parsing and checking run on another core while the server's thread writes the chunk before.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { parse } from 'csv-parse';
import { CSV_READING } from '../domain/csv.js';
import { type Mapping, recordToItem } from '../domain/import-mapping.js';
import { prepareBatch, type PreparedBatch } from '../services/contact-rows.js';
import type { BatchItemInput } from '../services/contacts.js';

export interface ImportThreadData {
  file: string;
  delimiter: string;
  columns: string[];
  mapping: Mapping;
  historical: boolean;
  /** Records up to this one (the header is record 0) were committed by an earlier run. */
  resumeAfter: number;
  region: string | null;
  chunkRows: number;
}

/** A record of the file: its row number as a spreadsheet shows it (the header is row 1) and its cells. */
export interface ImportRecord {
  rowNumber: number;
  record: string[];
}

export type ImportThreadMessage =
  /** `consumed`: the last record read (blank ones too), where a run after this chunk resumes. */
  | { type: 'chunk'; records: ImportRecord[]; batch: PreparedBatch; consumed: number; bytes: number }
  | { type: 'end'; consumed: number }
  /** `permanent`: the file itself is broken (a quote never closed): reading it again will not help. */
  | { type: 'failed'; message: string; permanent: boolean };

/** How many chunks the thread may send before the import has taken the first of them. */
export const CHUNKS_AHEAD = 2;

const data = workerData as ImportThreadData;
const port = parentPort!;
const post = (m: ImportThreadMessage) => port.postMessage(m);

let credits = CHUNKS_AHEAD;
let wake: (() => void) | null = null;
port.on('message', () => {
  credits++;
  wake?.();
  wake = null;
});
const credit = async () => {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
  credits--;
};

/** An export's neutralised cell ('=...) comes back as it was. */
function unneutralise(value: string): string {
  return /^'[=+\-@\t\r]/.test(value) ? value.slice(1) : value;
}

async function read(): Promise<void> {
  const parser = fs.createReadStream(data.file).pipe(parse({ ...CSV_READING, delimiter: data.delimiter }));
  let index = -1; // -1: the header
  let consumed = data.resumeAfter;
  let records: ImportRecord[] = [];
  const send = async () => {
    const items = records.map(({ record }) => recordToItem(data.columns, record.map(unneutralise), data.mapping, data.historical) as BatchItemInput);
    const batch = prepareBatch(items, data.region, data.historical);
    await credit();
    post({ type: 'chunk', records, batch, consumed, bytes: parser.info.bytes });
    records = [];
  };
  // Every record counts for the row numbers and for where to resume; blank lines and rows of empty
  // cells are passed over.
  for await (const record of parser as AsyncIterable<string[]>) {
    index++;
    if (index === 0 || index <= data.resumeAfter) continue;
    consumed = index;
    if (record.every((cell) => cell.trim() === '')) continue;
    records.push({ rowNumber: index + 1, record });
    if (records.length >= data.chunkRows) await send();
  }
  if (records.length) await send();
  post({ type: 'end', consumed });
}

read().catch((error: unknown) => {
  const code = (error as { code?: unknown }).code;
  const permanent = typeof code === 'string' && code.startsWith('CSV_');
  post({ type: 'failed', message: permanent ? `the file is not valid CSV: ${(error as Error).message}` : (error as Error).message, permanent });
});
