// `export` and `import` on the command line: the same durable jobs as the API, run by this process
// (or by a server on the same database, whichever claims them first), with a progress bar on stderr.
import fs from 'node:fs';
import path from 'node:path';
import type { Principal } from '../domain/access.js';
import type { Services } from '../services/container.js';
import { parse, UsageError } from './args.js';

/** The command line acts with an admin key's rights in the chosen workspace. */
function operator(workspaceId: string): Principal {
  return { kind: 'key', workspaceId, keyId: 'cli', keyName: 'command line', scopes: ['admin'] };
}

async function workspaceOf(s: Services, id: string | undefined): Promise<string> {
  return id ? (await s.workspaces.get(id)).id : (await s.workspaces.ensureDefault()).id;
}

/** One line redrawn in place on a terminal; a line every few seconds otherwise. */
function progressBar(label: string) {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(fraction: number, detail: string, force = false) {
      const now = Date.now();
      if (!tty && !force && now - last < 3000) return;
      last = now;
      const width = 30;
      const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
      const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${detail}`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}

/** Runs the job queue here until `poll` says the task has finished. */
async function follow<T extends { status: string; progress: number }>(s: Services, poll: () => Promise<T>, show: (t: T) => string, label: string): Promise<T> {
  const bar = progressBar(label);
  s.jobs.start();
  try {
    for (;;) {
      const t = await poll();
      const finished = t.status === 'completed' || t.status === 'failed';
      bar.update(t.progress, show(t), finished);
      if (finished) {
        bar.done();
        return t;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await s.jobs.stop();
  }
}

/** `--filter key=value` (repeatable; `tag` may repeat) into an export's filters object. */
function filtersOf(pairs: string[]): Record<string, unknown> {
  const filters: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--filter ${pair}: expected NAME=VALUE, e.g. --filter source=widget`);
    const name = pair.slice(0, eq), value = pair.slice(eq + 1);
    if (name === 'tag') filters.tag = [...((filters.tag as string[] | undefined) ?? []), value];
    else filters[name] = value;
  }
  return filters;
}

/** `--map "E-mail=email"` (repeatable; `col=` skips the column) into an import's mapping. */
function mappingOf(pairs: string[]): Record<string, string | null> | undefined {
  if (!pairs.length) return undefined;
  const mapping: Record<string, string | null> = {};
  for (const pair of pairs) {
    const eq = pair.lastIndexOf('=');
    if (eq < 1) throw new UsageError(`--map ${pair}: expected COLUMN=FIELD, e.g. --map "E-mail=email" (COLUMN= skips it)`);
    mapping[pair.slice(0, eq)] = pair.slice(eq + 1) || null;
  }
  return mapping;
}

export async function exportCommand(s: Services, argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    filter: { type: 'string', multiple: true }, fields: { type: 'string' }, out: { type: 'string' }, workspace: { type: 'string' },
  });
  if (!values.out) throw new UsageError('--out FILE is required');
  const out = path.resolve(values.out);
  if (fs.existsSync(out)) throw new UsageError(`${values.out} exists already; choose a new file`);
  requireFolder(out, values.out);
  const p = operator(await workspaceOf(s, values.workspace));
  const started = await s.exports.start(p, { filters: filtersOf(values.filter ?? []), fields: values.fields?.split(',').map((f) => f.trim()) }, 'http://localhost');
  const done = await follow(s, () => s.exports.get(p, started.id, 'http://localhost'), (e) => `${e.row_count.toLocaleString('en-US')} rows`, 'Exporting');
  if (done.status === 'failed') throw new Error(done.error ?? 'the export failed');
  const token = new URL(done.download_url!).searchParams.get('token');
  const { file } = await s.exports.download(done.id, token);
  await fs.promises.copyFile(file, out);
  process.stdout.write(`exported ${done.row_count.toLocaleString('en-US')} contacts to ${out}\n`);
  return 0;
}

/** A file to write goes in a folder that exists: said before the job runs, not after. */
function requireFolder(file: string, given: string): void {
  if (!fs.statSync(path.dirname(file), { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${given}: its folder does not exist`);
}

export async function importCommand(s: Services, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    map: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' }, historical: { type: 'boolean' },
    workspace: { type: 'string' }, report: { type: 'string' },
  }, 1);
  const input = positionals[0];
  if (!input) throw new UsageError('import needs a FILE (CSV)');
  if (!fs.existsSync(input)) throw new UsageError(`${input}: no such file`);
  if (values.report !== undefined) requireFolder(path.resolve(values.report), values.report);
  const p = operator(await workspaceOf(s, values.workspace));
  const upload = await s.imports.receive(fs.createReadStream(input));
  let started;
  try {
    started = await s.imports.start(p, { upload, mapping: mappingOf(values.map ?? []), dry_run: values['dry-run'] ?? false, historical: values.historical ?? false }, 'http://localhost');
  } catch (error) {
    await s.imports.discard(upload);
    throw error;
  }
  for (const note of started.notes) process.stderr.write(`note: ${note}\n`);
  const mapped = Object.entries(started.mapping).filter(([, f]) => f).map(([c, f]) => `${c} -> ${f}`);
  process.stderr.write(`columns: ${mapped.join(', ')}\n`);
  const done = await follow(s, () => s.imports.get(p, started.id, 'http://localhost'), (i) => `${i.rows.toLocaleString('en-US')} rows`, values['dry-run'] ? 'Checking' : 'Importing');
  if (done.status === 'failed') throw new Error(done.error ?? 'the import failed');
  const verb = done.dry_run ? 'would be ' : '';
  process.stdout.write(`${done.dry_run ? 'dry run: ' : ''}${done.rows.toLocaleString('en-US')} rows: ${verb}created ${done.created}, ${verb}updated ${done.updated}, skipped ${done.skipped}, failed ${done.failed}\n`);
  if (done.skipped + done.failed > 0 && done.report_url) {
    const { file } = await s.imports.report(done.id, new URL(done.report_url).searchParams.get('token'));
    const target = path.resolve(values.report ?? `${input}.report.csv`);
    await fs.promises.copyFile(file, target);
    process.stdout.write(`rejected and skipped rows, with the reason: ${target}\n`);
  }
  return 0;
}
