// CSV as exports write it and imports read it: RFC 4180 cells, the documented export columns, and the
// defence against spreadsheet formula injection.
import type { FieldError } from './errors.js';
import { Invalid } from './errors.js';
import { toIso } from './time.js';

/**
 * How imports read a file (csv-parse options): a BOM dropped, rows of uneven length and stray quotes
 * taken as they come, and any line ending ending a row, also where a file mixes them (an LF header on
 * CRLF rows, as text editors leave files): detected from the first line only, the other ending would
 * stay in the last cell or join two rows.
 */
export const CSV_READING = { bom: true, relax_column_count: true, relax_quotes: true, record_delimiter: ['\r\n', '\n', '\r'] };

/** The documented export columns, in order (API.md, Exports). */
export const EXPORT_COLUMNS = [
  'id', 'name', 'email', 'phone', 'company', 'source', 'first_seen', 'last_seen', 'conversation_count', 'tags', 'page_url', 'ip_country',
] as const;

/** Columns an export may also ask for; they follow the documented ones, in this order. */
export const EXTRA_EXPORT_COLUMNS = ['lifecycle_stage', 'archived', 'created_at', 'updated_at', 'metadata'] as const;

export type ExportColumn = (typeof EXPORT_COLUMNS)[number] | (typeof EXTRA_EXPORT_COLUMNS)[number];
const ALL_COLUMNS: readonly ExportColumn[] = [...EXPORT_COLUMNS, ...EXTRA_EXPORT_COLUMNS];

/** The export's columns: the chosen ones, in the documented order; none given, the documented set. */
export function exportColumns(fields: unknown): ExportColumn[] {
  if (fields === undefined || fields === null) return [...EXPORT_COLUMNS];
  const errors: FieldError[] = [];
  if (!Array.isArray(fields) || fields.length === 0) throw Invalid.field('fields', 'must be a non-empty array of column names');
  const chosen = new Set<string>();
  for (const f of fields) {
    if (typeof f !== 'string' || !(ALL_COLUMNS as readonly string[]).includes(f)) {
      errors.push({ field: 'fields', message: `${JSON.stringify(f)} is not a column; columns: ${ALL_COLUMNS.join(', ')}` });
    } else if (chosen.has(f)) {
      errors.push({ field: 'fields', message: `${f} is given twice` });
    } else {
      chosen.add(f);
    }
  }
  if (errors.length) throw new Invalid(errors);
  return ALL_COLUMNS.filter((c) => chosen.has(c));
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * A cell a spreadsheet would run as a formula (starts with =, +, -, @, tab or carriage return) gets a
 * leading apostrophe, unless it is only a number or an E.164 phone number.
 */
export function neutralise(value: string): string {
  // The first character by its code: an export tests every cell, and most start with none of these.
  const first = value.charCodeAt(0);
  if (first !== 61 && first !== 43 && first !== 45 && first !== 64 && first !== 9 && first !== 13) return value;
  if (NUMBER.test(value) || E164.test(value)) return value;
  return "'" + value;
}

/** One RFC 4180 cell: quoted when it holds a quote, comma, CR or LF (or `always`). */
export function csvCell(value: string, always = false): string {
  if (always || /[",\r\n]/.test(value)) return '"' + value.replaceAll('"', '""') + '"';
  return value;
}

export function csvLine(cells: string[]): string {
  return cells.join(',') + '\r\n';
}

/** How each column's value becomes its cell, formula cells neutralised (the API's values). */
function cellFormatter(column: ExportColumn): (value: unknown) => string {
  switch (column) {
    case 'tags': return (v) => (v === '[]' ? '' : csvCell(neutralise((JSON.parse(v as string) as string[]).join(',')), true));
    case 'first_seen': case 'last_seen': case 'created_at': case 'updated_at': return (v) => toIso(v as number);
    case 'conversation_count': return (v) => String(v);
    case 'archived': return (v) => (v === 1 ? 'true' : 'false');
    case 'metadata': case 'id': case 'name': case 'email': case 'phone': case 'company': case 'source': case 'page_url': case 'ip_country': case 'lifecycle_stage':
      return (v) => (v === null ? '' : csvCell(neutralise(v as string)));
  }
}

/** Rows of the chosen columns' values (as the database holds them) as CSV lines. */
export function csvRecords(columns: ExportColumn[]): (rows: unknown[][]) => string {
  const cells = columns.map(cellFormatter);
  const [first, ...rest] = cells;
  return (rows) => {
    let text = '';
    for (const row of rows) {
      text += first!(row[0]);
      for (let i = 0; i < rest.length; i++) text += ',' + rest[i]!(row[i + 1]);
      text += '\r\n';
    }
    return text;
  };
}
