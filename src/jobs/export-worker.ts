// A worker thread of an export: reads its stretches of the list from a read-only connection of its own
// and writes each, formatted, to a file of its own (synced before it says it is done).
//
// The export starts it, waits for `ready` (connection open), then takes the database's write lock and
// sends the stretches; the thread begins its read transaction and answers `reading`. Once every thread
// reads, the export lets the lock go: no commit fell between them, so all read the same snapshot.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { csvRecords, type ExportColumn } from '../domain/csv.js';
import { type ExportSegment, openReadOnly, readSegment } from '../store/reader.js';

export interface ExportThreadData {
  database: string;
  columns: ExportColumn[];
  batch: number;
}

/** A stretch of the list, the file it goes to, and the text that starts that file. */
export type ExportThreadSegment = ExportSegment & { out: string; head: string };

export type ExportThreadMessage = { type: 'ready' } | { type: 'reading' } | { type: 'rows'; count: number } | { type: 'done' };

const data = workerData as ExportThreadData;
const port = parentPort!;
const post = (m: ExportThreadMessage) => port.postMessage(m);
const reader = openReadOnly(data.database);

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length;) at += fs.writeSync(fd, bytes, at);
}

function write(segments: ExportThreadSegment[]): void {
  reader.exec('BEGIN');
  // A read transaction takes its snapshot at its first read.
  reader.prepare('SELECT 1 FROM contacts LIMIT 1').get();
  post({ type: 'reading' });
  const format = csvRecords(data.columns);
  for (const segment of segments) {
    const fd = fs.openSync(segment.out, 'w');
    try {
      if (segment.head) writeAll(fd, segment.head);
      for (const rows of readSegment(reader, segment, data.batch)) {
        writeAll(fd, format(rows));
        post({ type: 'rows', count: rows.length });
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  reader.exec('COMMIT');
  reader.close();
  post({ type: 'done' });
}

port.once('message', (segments: ExportThreadSegment[]) => write(segments));
post({ type: 'ready' });
