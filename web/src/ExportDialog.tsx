import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api, type Export, finished, type Page, problemText } from './api';
import { Progress } from './Progress';
import { Failed, Loading } from './States';

/** The CSV's columns, in the documented order (the file keeps this order whatever is ticked). */
export const EXPORT_FIELDS = ['id', 'name', 'email', 'phone', 'company', 'source', 'first_seen', 'last_seen', 'conversation_count', 'tags', 'page_url', 'ip_country'];

type Which = 'all' | 'filtered' | 'created';

const rowsText = (n: number | null) => (n === null ? 'Counting rows…' : `${n.toLocaleString()} ${n === 1 ? 'row' : 'rows'}`);
const describe = (filters: Record<string, unknown>) =>
  Object.entries(filters).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${Array.isArray(v) ? v.join(', ') : String(v)}`).join(' · ');
const usable = (e: Export) => e.status === 'completed' && e.download_url !== null && (e.expires_at === null || Date.parse(e.expires_at) > Date.now());

/**
 * The spec's export options (all contacts, the current filters, a created date range, the columns):
 * starts an async export, follows it with a progress bar and offers the file when it is ready; the
 * recent exports keep their links while they have not expired. Viewers only see the recent exports.
 */
export function ExportDialog({ filters, canWrite, onClose }: { filters: Record<string, unknown>; canWrite: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => ref.current?.showModal(), []);
  const client = useQueryClient();
  const hasFilters = Object.keys(filters).length > 0;
  const [which, setWhich] = useState<Which>(hasFilters ? 'filtered' : 'all');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [fields, setFields] = useState<string[]>(EXPORT_FIELDS);
  const [current, setCurrent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const recent = useQuery({
    queryKey: ['exports'],
    queryFn: () => api<Page<Export>>('GET', '/v1/exports?limit=10'),
    refetchInterval: (q) => (q.state.data?.data.some((e) => !finished(e.status)) ? 1000 : false),
  });
  const job = useQuery({
    queryKey: ['export', current],
    queryFn: () => api<Export>('GET', `/v1/exports/${current}`),
    enabled: current !== null,
    refetchInterval: (q) => (q.state.data && !finished(q.state.data.status) && q.state.status !== 'error' ? 500 : false),
  });
  const status = job.data?.status;
  useEffect(() => {
    if (finished(status)) void client.invalidateQueries({ queryKey: ['exports'] });
  }, [status, client]);

  const chosenFilters = (): Record<string, unknown> => {
    if (which === 'filtered') return filters;
    if (which === 'created') return { ...(from ? { created_from: from } : {}), ...(to ? { created_to: to } : {}) };
    return {};
  };
  const start = useMutation({
    mutationFn: () => api<Export>('POST', '/v1/contacts/export', { filters: chosenFilters(), fields: EXPORT_FIELDS.filter((f) => fields.includes(f)), format: 'csv' }),
    onSuccess: (e) => {
      setError(null);
      client.setQueryData(['export', e.id], e);
      setCurrent(e.id);
      void client.invalidateQueries({ queryKey: ['exports'] });
    },
    onError: (e) => setError(problemText(e, 'The export could not be started. Try again.')),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (which === 'created' && !from && !to) return setError('Choose the first day, the last day, or both.');
    start.mutate();
  };
  const running = status !== undefined && !finished(status);
  const toggle = (f: string, on: boolean) => setFields((now) => (on ? [...now, f] : now.filter((x) => x !== f)));
  const j = job.data;

  return (
    <dialog ref={ref} className="export-dialog" aria-labelledby="export-title" onClose={onClose}>
      <h2 id="export-title">Export contacts</h2>
      {canWrite ? (
        <form onSubmit={submit}>
          <fieldset className="stack" disabled={running || start.isPending}>
            <legend>Which contacts</legend>
            <label className="choice"><input type="radio" name="which" checked={which === 'all'} onChange={() => setWhich('all')} /> All contacts</label>
            <label className="choice"><input type="radio" name="which" checked={which === 'filtered'} onChange={() => setWhich('filtered')} aria-describedby="export-current-filters" /> The current filters</label>
            <p id="export-current-filters" className="hint indent">{hasFilters ? describe(filters) : 'No search or filter is set: this is every contact.'}</p>
            <label className="choice"><input type="radio" name="which" checked={which === 'created'} onChange={() => setWhich('created')} /> Created between</label>
            {which === 'created' && (
              <div className="range">
                <label>Created from<input type="date" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
                <label>Created to<input type="date" value={to} onChange={(e) => setTo(e.target.value)} /></label>
              </div>
            )}
          </fieldset>
          <fieldset disabled={running || start.isPending}>
            <legend>Columns</legend>
            {EXPORT_FIELDS.map((f) => <label className="choice" key={f}><input type="checkbox" checked={fields.includes(f)} onChange={(e) => toggle(f, e.target.checked)} /> {f}</label>)}
            <p className="hint">{fields.length === 0 ? 'Choose at least one column.' : `${fields.length} of ${EXPORT_FIELDS.length} columns, in this order.`}</p>
          </fieldset>
          {error && <p role="alert" className="error">{error}</p>}
          <button type="submit" disabled={fields.length === 0 || running || start.isPending}>{start.isPending ? 'Starting…' : 'Start export'}</button>
        </form>
      ) : <p className="notice">You can download recent exports. Starting an export needs the member role.</p>}

      {current && (
        <section className="job" aria-labelledby="export-job-title">
          <h3 id="export-job-title">This export</h3>
          {job.isError && <Failed what="The export's progress could not be loaded." error={job.error} onRetry={() => void job.refetch()} retrying={job.isFetching} className="inline" />}
          {j && j.status !== 'failed' && <Progress label="Export progress" value={j.status === 'completed' ? 1 : j.progress} text={rowsText(j.row_count)} />}
          {j && !finished(j.status) && <p role="status">{j.status === 'queued' ? 'Waiting to start…' : `Exporting… ${rowsText(j.row_count)} so far`}</p>}
          {j?.status === 'completed' && (
            <p role="status">
              Ready: {rowsText(j.row_count)}.{' '}
              {j.download_url ? <><a className="button" href={j.download_url} download>Download CSV</a>{j.expires_at && <small>The link works until {new Date(j.expires_at).toLocaleString()}.</small>}</> : 'The file is no longer available.'}
            </p>
          )}
          {j?.status === 'failed' && <p role="alert" className="error">The export failed: {j.error ?? 'the server gave no reason'}.</p>}
        </section>
      )}

      <section className="recent" aria-labelledby="recent-exports-title">
        <h3 id="recent-exports-title">Recent exports</h3>
        {recent.isPending && <Loading className="small">Loading recent exports…</Loading>}
        {recent.isError && <Failed what="The recent exports could not be loaded." error={recent.error} onRetry={() => void recent.refetch()} retrying={recent.isFetching} className="inline" />}
        {recent.data?.data.length === 0 && <p className="muted">No exports yet. An export you start appears here, and its file can be downloaded for 24 hours.</p>}
        {recent.data && recent.data.data.length > 0 && (
          <ul aria-label="Recent exports">
            {recent.data.data.map((e) => {
              const when = new Date(e.created_at).toLocaleString();
              return (
                <li key={e.id}>
                  {when} · {e.status === 'completed' ? rowsText(e.row_count) : e.status === 'failed' ? `failed${e.error ? `: ${e.error}` : ''}` : e.status} · {e.fields.length} columns{' '}
                  {usable(e) ? <a href={e.download_url!} download aria-label={`Download CSV of the export of ${when}`}>Download CSV</a> : e.status === 'completed' ? <span className="muted">link expired</span> : null}
                </li>
              );
            })}
          </ul>
        )}
      </section>
      <button type="button" onClick={() => ref.current?.close()}>Close</button>
    </dialog>
  );
}
