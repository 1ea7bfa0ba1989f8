import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, type Contact, type Page, type Session } from './api';
import { ContactDetail } from './ContactDetail';
import { ContactsTable } from './ContactsTable';
import { ExportDialog } from './ExportDialog';
import { FiltersPanel } from './FiltersPanel';
import { Empty, Failed, Loading } from './States';
import { exportFilters, FILTER_KEYS, listQuery, useUrlParams } from './url-state';

const NO_ROWS: Contact[] = [];
const CLEARED = Object.fromEntries(['q', ...FILTER_KEYS].map((k) => [k, null]));

export function ContactsPage({ session }: { session: Session }) {
  const [params, setParams] = useUrlParams();
  const key = listQuery(params).toString();
  const [search, setSearch] = useState(params.get('q') ?? '');
  const [open, setOpen] = useState<string | null>(null);
  const [showFilters, setShowFilters] = useState(false);
  const [showExport, setShowExport] = useState(false);
  const searchBox = useRef<HTMLInputElement>(null);
  const client = useQueryClient();

  // Each keystroke updates the URL; the query key follows, and TanStack Query drops answers of old keys.
  useEffect(() => setSearch(params.get('q') ?? ''), [params]);

  const pages = useInfiniteQuery({
    queryKey: ['contacts', key],
    queryFn: ({ pageParam, signal }) => {
      const q = new URLSearchParams(key);
      q.set('limit', '100');
      if (pageParam) q.set('cursor', pageParam);
      return api<Page<Contact>>('GET', '/v1/contacts?' + q.toString(), undefined, signal);
    },
    initialPageParam: '',
    getNextPageParam: (last) => (last.has_more ? last.next_cursor ?? undefined : undefined),
    placeholderData: keepPreviousData,
  });
  // The total waits until typing pauses: an exact count at a million rows takes longer than a page,
  // and one per keystroke held the next keystroke's rows up behind it (measured by the browser bench).
  const countKey = useSettled(key, 350);
  const count = useQuery({
    queryKey: ['count', countKey],
    queryFn: ({ signal }) => api<{ count: number }>('GET', '/v1/contacts/count?' + countKey, undefined, signal),
    placeholderData: keepPreviousData,
  });
  const rows = useMemo(() => pages.data?.pages.flatMap((p) => p.data) ?? NO_ROWS, [pages.data]);

  // Live: a change anywhere in the workspace refreshes the list and the count.
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/v1/stream');
    const refresh = () => void client.invalidateQueries({ queryKey: ['contacts'] }).then(() => client.invalidateQueries({ queryKey: ['count'] }));
    for (const type of ['contact.created', 'contact.updated', 'contact.deleted', 'contact.merged', 'contact.archived', 'lead.captured']) source.addEventListener(type, refresh);
    return () => source.close();
  }, [client]);

  // `/` focuses the search box (the table has j/k and Enter; the dialogs have Escape).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement;
      if (e.key === '/' && !typing && !document.querySelector('dialog[open]')) {
        e.preventDefault();
        searchBox.current?.focus();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = pages;
  const fetchMore = useCallback(() => void fetchNextPage(), [fetchNextPage]);
  const onSort = useCallback((sort: string | null) => setParams({ sort }), [setParams]);
  const clearFilters = () => {
    setSearch('');
    setParams(CLEARED);
    searchBox.current?.focus();
  };
  const canWrite = session.role !== 'viewer';
  const q = params.get('q')?.trim() ?? '';
  const filtered = [...new URLSearchParams(key).keys()].some((k) => k !== 'sort');
  const onlySearch = filtered && FILTER_KEYS.every((k) => !params.get(k));

  let state: ReactNode = null;
  if (pages.isPending) state = <Loading>Loading contacts…</Loading>;
  else if (pages.isError && rows.length === 0) {
    state = <Failed what="The contacts could not be loaded." error={pages.error} onRetry={() => void pages.refetch()} retrying={pages.isFetching} />;
  } else if (rows.length === 0 && filtered) {
    state = (
      <Empty title={onlySearch ? `No contacts match “${q}”` : 'No contacts match these filters'}>
        <p>{onlySearch ? 'Search looks in names, emails, phone numbers and ids.' : 'Try fewer filters, or clear them to see every contact.'}</p>
        <button type="button" onClick={clearFilters}>{onlySearch ? 'Clear search' : 'Clear filters'}</button>
      </Empty>
    );
  } else if (rows.length === 0) {
    state = (
      <Empty title="No contacts yet">
        <p>
          They appear here when your agent captures a lead (the chat widget&apos;s snippet is in <a href="#settings">Settings</a>)
          {canWrite ? <>, or <a href="#import">import a CSV</a> of the contacts you already have.</> : '.'}
        </p>
      </Empty>
    );
  }
  // Trouble with rows on screen: a page further down, or a refresh of the list.
  let footer: ReactNode = null;
  if (pages.isFetchNextPageError) footer = <Failed what="More contacts could not be loaded." error={pages.error} onRetry={fetchMore} retrying={isFetchingNextPage} className="inline" />;
  else if (pages.isRefetchError && rows.length > 0) footer = <Failed what="The list could not be refreshed." error={pages.error} onRetry={() => void pages.refetch()} retrying={pages.isFetching} className="inline" />;
  else if (isFetchingNextPage) footer = <p className="muted"><span className="spinner" aria-hidden="true" />Loading more contacts…</p>;

  const counted = count.data && countKey === key && !count.isPlaceholderData ? count.data.count : null;
  const countText = counted !== null ? `${counted.toLocaleString()} ${counted === 1 ? 'contact' : 'contacts'}` : count.isError && countKey === key ? 'Count unavailable' : 'Counting…';

  return (
    <main className="contacts">
      <div className="toolbar">
        <h1>Contacts</h1>
        <label className="search">Search contacts
          <input ref={searchBox} type="search" value={search} placeholder="Name, email, phone or id  ( / )" aria-keyshortcuts="/"
            onChange={(e) => { setSearch(e.target.value); setParams({ q: e.target.value }, false); }} />
        </label>
        <button type="button" aria-expanded={showFilters} aria-controls={showFilters ? 'filters' : undefined} onClick={() => setShowFilters((v) => !v)}>Filters</button>
        <span className="count" role="status">{countText}</span>
        <button type="button" className="export" onClick={() => setShowExport(true)}>Export</button>
      </div>
      {showFilters && <FiltersPanel key={FILTER_KEYS.map((k) => params.get(k) ?? '').join('\n')} params={params} setParams={setParams} />}
      <ul className="chips" aria-label="Active filters">
        {FILTER_KEYS.filter((k) => params.get(k)).map((k) => (
          <li key={k}><span>{k.replace(/_/g, ' ')}: {params.get(k)}</span>
            <button type="button" aria-label={`Remove filter ${k.replace(/_/g, ' ')}`} onClick={() => setParams({ [k]: null })}>×</button></li>
        ))}
      </ul>
      <div className="table">
        <ContactsTable rows={rows} sort={params.get('sort') ?? '-last_seen'} onSort={onSort} listKey={key}
          busy={pages.isPending || (pages.isFetching && pages.isPlaceholderData)}
          hasMore={hasNextPage} fetchingMore={isFetchingNextPage} fetchMore={fetchMore} open={open} onOpen={setOpen} />
        {state && <div className="table-state">{state}</div>}
      </div>
      <div className="table-foot">{footer}</div>
      {open && <ContactDetail id={open} canWrite={canWrite} onClose={() => setOpen(null)} />}
      {showExport && <ExportDialog filters={exportFilters(params)} canWrite={canWrite} onClose={() => setShowExport(false)} />}
    </main>
  );
}

/** `value` once it has stayed the same for `ms` (the first value at once). */
function useSettled(value: string, ms: number): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    if (value === settled) return;
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, settled, ms]);
  return settled;
}
