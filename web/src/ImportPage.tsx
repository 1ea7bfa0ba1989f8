import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api, ApiError, finished, type Import, problemText, type Session, upload } from './api';
import { Progress } from './Progress';
import { Failed } from './States';

const FIELDS: Array<[string, string]> = [
  ['name', 'Name'], ['first_name', 'First name (joined into Name)'], ['last_name', 'Last name (joined into Name)'], ['email', 'Email'], ['phone', 'Phone'],
  ['company', 'Company'], ['source', 'Source'], ['tags', 'Tags'], ['page_url', 'Page URL'],
];
/** Kept only by a historical import (admins), as the API's migration rules say. */
const HISTORICAL_FIELDS: Array<[string, string]> = [
  ['created_at', 'Created at'], ['first_seen', 'First seen'], ['last_seen', 'Last seen'], ['conversation_count', 'Conversation count'],
];

type Mapping = Record<string, string | null>;

function Problem({ error }: { error: unknown }) {
  const errors = error instanceof ApiError ? error.problem.errors ?? [] : [];
  return (
    <div role="alert" className="error">
      <p>{errors.length ? 'The file was not accepted:' : `The import could not be started. ${problemText(error, 'The server did not answer.')}`}</p>
      {errors.length > 0 && <ul>{errors.map((e, i) => <li key={i}>{e.field ? <><strong>{e.field}</strong>: </> : null}{e.message}</li>)}</ul>}
    </div>
  );
}

/**
 * Import a CSV: choosing a file starts a dry run with the automatic column matching; the columns show
 * with a field each, prefilled from that run, and what the run would do; the mapping can be changed and
 * tried again, then imported for real, with the counts and the report of rejected rows.
 */
export function ImportPage({ session }: { session: Session }) {
  const client = useQueryClient();
  const canWrite = session.role !== 'viewer';
  const admin = session.role === 'admin' || session.role === 'owner';
  const fileInput = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [historical, setHistorical] = useState(false);
  const [mapping, setMapping] = useState<Mapping | null>(null);
  const [columns, setColumns] = useState<string[]>([]);
  const [dirty, setDirty] = useState(false);
  const [runId, setRunId] = useState<string | null>(null);

  const start = useMutation({
    mutationFn: ({ dryRun, chosen, columnsTo }: { dryRun: boolean; chosen: File; columnsTo: Mapping | null }) => {
      const form = new FormData();
      form.append('file', chosen, chosen.name);
      if (columnsTo) form.append('mapping', JSON.stringify(columnsTo));
      form.append('dry_run', String(dryRun));
      if (admin) form.append('historical', String(historical));
      return upload<Import>('/v1/imports', form);
    },
    onSuccess: (run) => {
      client.setQueryData(['import', run.id], run);
      setRunId(run.id);
    },
  });
  const job = useQuery({
    queryKey: ['import', runId],
    queryFn: () => api<Import>('GET', `/v1/imports/${runId}`),
    enabled: runId !== null,
    refetchInterval: (q) => (q.state.data && !finished(q.state.data.status) && q.state.status !== 'error' ? 500 : false),
  });
  const run = job.data;

  // A finished dry run fills the mapping from the server's resolved one; a finished import refreshes the lists.
  useEffect(() => {
    if (!run || run.status !== 'completed') return;
    if (run.dry_run) {
      setColumns(run.columns);
      setMapping(run.mapping);
      setDirty(false);
    } else {
      for (const k of ['contacts', 'count', 'archived', 'archived-count', 'workspace']) void client.invalidateQueries({ queryKey: [k] });
    }
  }, [run?.id, run?.status]);

  const busy = start.isPending || (run !== undefined && !finished(run.status));
  const go = (dryRun: boolean, chosen = file) => {
    if (chosen) start.mutate({ dryRun, chosen, columnsTo: mapping });
  };
  const choose = (chosen: File | null) => {
    setFile(chosen);
    setMapping(null);
    setColumns([]);
    setRunId(null);
    start.reset();
    // The first dry run goes with the automatic mapping (no mapping sent).
    if (chosen) start.mutate({ dryRun: true, chosen, columnsTo: null });
  };
  const reset = () => {
    choose(null);
    if (fileInput.current) fileInput.current.value = '';
  };
  const imported = run?.status === 'completed' && !run.dry_run;

  if (!canWrite) {
    return (
      <main className="import">
        <h1>Import contacts</h1>
        <p className="notice">Importing contacts needs the member role. Ask an admin of the workspace.</p>
      </main>
    );
  }

  const optionsFor = (value: string | null): Array<[string, string]> => {
    const list = historical ? [...FIELDS, ...HISTORICAL_FIELDS] : FIELDS;
    if (value && !list.some(([v]) => v === value)) {
      const historicalOnly = HISTORICAL_FIELDS.find(([v]) => v === value);
      return [...list, [value, historicalOnly ? `${historicalOnly[1]} (historical import only)` : value]];
    }
    return list;
  };

  return (
    <main className="import">
      <h1>Import contacts</h1>
      <section aria-labelledby="import-file-title">
        <h2 id="import-file-title">1. Choose a file</h2>
        <p className="hint">The first row names the columns; comma or semicolon separated. Rows are matched to existing contacts by email, then phone, and nothing is saved until you click Import.</p>
        {admin && (
          <label className="choice">
            <input type="checkbox" checked={historical} disabled={busy} onChange={(e) => { setHistorical(e.target.checked); if (mapping) setDirty(true); }} />
            Historical import (keep the created, first seen, last seen and conversation count columns)
          </label>
        )}
        <label>CSV file<input ref={fileInput} type="file" accept=".csv,text/csv" disabled={busy} onChange={(e) => choose(e.target.files?.[0] ?? null)} /></label>
      </section>

      {start.isError && (
        <>
          <Problem error={start.error} />
          {file && <button type="button" onClick={() => go(start.variables?.dryRun ?? true)}>Try again</button>}
        </>
      )}

      {run && (
        <section className="job" aria-label={run.dry_run ? 'Dry run' : 'Import'}>
          <h2>{run.dry_run ? 'Dry run' : 'Import'}{file ? ` of ${file.name}` : ''}</h2>
          {job.isError && <Failed what="The progress could not be loaded." error={job.error} onRetry={() => void job.refetch()} retrying={job.isFetching} className="inline" />}
          {!finished(run.status) && (
            <>
              <Progress label={run.dry_run ? 'Dry run progress' : 'Import progress'} value={run.progress} />
              <p role="status">{run.status === 'queued' ? 'Waiting to start…' : `Reading the file… ${run.rows === null ? '' : `${run.rows.toLocaleString()} rows so far`}`}</p>
            </>
          )}
          {run.status === 'failed' && <p role="alert" className="error">The {run.dry_run ? 'dry run' : 'import'} failed: {run.error ?? 'the server gave no reason'}.</p>}
          {run.status === 'completed' && <Counts run={run} />}
        </section>
      )}

      {mapping && !imported && (
        <section aria-labelledby="import-mapping-title">
          <h2 id="import-mapping-title">2. Match the columns</h2>
          <table className="list" aria-label="Column mapping">
            <thead><tr><th scope="col">Column in the file</th><th scope="col">Contact field</th></tr></thead>
            <tbody>
              {columns.map((col) => (
                <tr key={col}>
                  <th scope="row">{col}</th>
                  <td>
                    <select aria-label={`Field for column ${col}`} value={mapping[col] ?? ''} disabled={busy}
                      onChange={(e) => { setMapping({ ...mapping, [col]: e.target.value || null }); setDirty(true); }}>
                      <option value="">Ignore</option>
                      {optionsFor(mapping[col] ?? null).map(([v, label]) => <option key={v} value={v}>{label}</option>)}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {dirty && <p className="notice">The choices changed since the last dry run: run it again to see what they would do.</p>}
          <div className="actions">
            <button type="button" disabled={busy} onClick={() => go(true)}>Run dry run again</button>
            <button type="button" disabled={busy} onClick={() => go(false)}>Import</button>
          </div>
        </section>
      )}

      {imported && <button type="button" onClick={reset}>Import another file</button>}
    </main>
  );
}

function Counts({ run }: { run: Import }) {
  const dry = run.dry_run;
  const rejected = run.skipped + run.failed;
  return (
    <div role="region" aria-label={dry ? 'Dry run result' : 'Import result'}>
      <p role="status">{dry ? `Dry run finished: ${run.rows?.toLocaleString() ?? 0} rows read, nothing saved.` : `Import finished: ${run.rows?.toLocaleString() ?? 0} rows read.`}</p>
      <ul className="counts">
        <li>{dry ? 'Would create' : 'Created'}: <strong>{run.created.toLocaleString()}</strong></li>
        <li>{dry ? 'Would update' : 'Updated'}: <strong>{run.updated.toLocaleString()}</strong></li>
        <li>{dry ? 'Would skip' : 'Skipped'}: <strong>{run.skipped.toLocaleString()}</strong></li>
        <li>{dry ? 'Would fail' : 'Failed'}: <strong>{run.failed.toLocaleString()}</strong></li>
      </ul>
      {run.notes.length > 0 && <ul aria-label="Notes" className="notes">{run.notes.map((n, i) => <li key={i}>{n}</li>)}</ul>}
      {rejected > 0 && run.report_url && (
        <p><a className="button" href={run.report_url} download>Download report</a> <small>{dry ? 'Each row that would be rejected or skipped, with the reason.' : 'Each rejected or skipped row, with the reason.'}</small></p>
      )}
    </div>
  );
}
