import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import type { Contact, Page, Session } from './api';
import { ContactDetail } from './ContactDetail';
import { ExportDialog } from './ExportDialog';
import { FiltersPanel } from './FiltersPanel';
import { exportFilters, FILTER_KEYS, listQuery, useUrlParams } from './url-state';

const COLUMNS: Array<{ key: string; label: string; value: (c: Contact) => string }> = [
  { key: 'name', label: 'Name', value: (c) => c.name ?? '—' },
  { key: 'email', label: 'Email', value: (c) => c.email ?? '' },
  { key: 'phone', label: 'Phone', value: (c) => c.phone ?? '' },
  { key: 'source', label: 'Source', value: (c) => c.source },
  { key: 'created_at', label: 'Created', value: (c) => new Date(c.created_at).toLocaleDateString() },
  { key: 'conversation_count', label: 'Conversations', value: (c) => String(c.conversation_count) },
];
const ROW = 36;

export function ContactsPage({ session }: { session: Session }) {
  const [params, setParams] = useUrlParams();
  const query = listQuery(params);
  const key = query.toString();
  const [search, setSearch] = useState(params.get('q') ?? '');
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [showFilters, setShowFilters] = useState(false);
  const [showExport, setShowExport] = useState(false);
  const searchBox = useRef<HTMLInputElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const client = useQueryClient();

  // Each keystroke updates the URL; the query key follows, and TanStack Query drops answers of old keys.
  useEffect(() => setSearch(params.get('q') ?? ''), [params]);

  const pages = useInfiniteQuery({
    queryKey: ['contacts', key],
    queryFn: ({ pageParam, signal }) => {
      const q = new URLSearchParams(query);
      q.set('limit', '100');
      if (pageParam) q.set('cursor', pageParam);
      return fetch('/v1/contacts?' + q.toString(), { signal, credentials: 'same-origin' }).then(async (r) => {
        const body = (await r.json()) as Page<Contact> & { detail?: string };
        if (!r.ok) throw new Error(body.detail ?? 'The list could not be loaded');
        return body;
      });
    },
    initialPageParam: '',
    getNextPageParam: (last) => (last.has_more ? last.next_cursor ?? undefined : undefined),
    placeholderData: keepPreviousData,
  });
  // The total waits until typing pauses: an exact count at a million rows takes longer than a page,
  // and one per keystroke held the next keystroke's rows up behind it (measured by the browser bench).
  const countKey = useSettled(key, 350);
  const count = useQuery<{ count: number }>({
    queryKey: ['count', countKey],
    queryFn: ({ signal }) => fetch('/v1/contacts/count?' + countKey, { signal, credentials: 'same-origin' }).then((r) => r.json() as Promise<{ count: number }>),
    placeholderData: keepPreviousData,
  });
  const rows = pages.data?.pages.flatMap((p) => p.data) ?? [];

  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 20 });
  const items = virtual.getVirtualItems();
  const lastItem = items[items.length - 1];
  useEffect(() => {
    if (lastItem && lastItem.index >= rows.length - 30 && pages.hasNextPage && !pages.isFetchingNextPage) void pages.fetchNextPage();
  }, [lastItem, rows.length, pages]);

  // Live: a change anywhere in the workspace refreshes the list and the count.
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/v1/stream');
    const refresh = () => void client.invalidateQueries({ queryKey: ['contacts'] }).then(() => client.invalidateQueries({ queryKey: ['count'] }));
    for (const type of ['contact.created', 'contact.updated', 'contact.deleted', 'contact.merged', 'contact.archived', 'lead.captured']) source.addEventListener(type, refresh);
    return () => source.close();
  }, [client]);

  // Keyboard: / focuses search, j/k move, Enter opens, Escape closes.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement;
      if (e.key === '/' && !typing) {
        e.preventDefault();
        searchBox.current?.focus();
      } else if (!typing && !open && (e.key === 'j' || e.key === 'k')) {
        setActive((a) => {
          const next = Math.max(0, Math.min(rows.length - 1, a + (e.key === 'j' ? 1 : -1)));
          virtual.scrollToIndex(next);
          return next;
        });
      } else if (!typing && !open && e.key === 'Enter' && rows[active]) setOpen(rows[active].id);
      else if (e.key === 'Escape' && open) setOpen(null);
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [rows, active, open, virtual]);

  const sort = params.get('sort') ?? '-last_seen';
  const sortBy = (column: string) => setParams({ sort: sort === column ? '-' + column : column });
  const ariaSort = (column: string): 'ascending' | 'descending' | 'none' => (sort === column ? 'ascending' : sort === '-' + column ? 'descending' : 'none');
  const canWrite = session.role !== 'viewer';

  return (
    <main className="contacts">
      <div className="toolbar">
        <h1>Contacts</h1>
        <label className="search">Search contacts
          <input ref={searchBox} type="search" value={search} placeholder="Name, email, phone or id  ( / )"
            onChange={(e) => { setSearch(e.target.value); setParams({ q: e.target.value }, false); }} />
        </label>
        <button type="button" aria-expanded={showFilters} onClick={() => setShowFilters((v) => !v)}>Filters</button>
        <span className="count" role="status">{count.data && countKey === key && !count.isPlaceholderData ? `${count.data.count.toLocaleString()} contacts` : 'Counting…'}</span>
        <button type="button" className="export" onClick={() => setShowExport(true)}>Export</button>
      </div>
      {showFilters && <FiltersPanel params={params} setParams={setParams} />}
      <ul className="chips" aria-label="Active filters">
        {FILTER_KEYS.filter((k) => params.get(k)).map((k) => (
          <li key={k}><span>{k.replace(/_/g, ' ')}: {params.get(k)}</span>
            <button type="button" aria-label={`Remove filter ${k.replace(/_/g, ' ')}`} onClick={() => setParams({ [k]: null })}>×</button></li>
        ))}
      </ul>
      <div className="table" role="grid" aria-label="Contacts" aria-rowcount={rows.length + 1}>
        <div role="row" className="row head">
          {COLUMNS.map((c) => (
            <div role="columnheader" key={c.key} aria-sort={ariaSort(c.key)}>
              <button type="button" onClick={() => sortBy(c.key)}>{c.label}{ariaSort(c.key) === 'ascending' ? ' ▲' : ariaSort(c.key) === 'descending' ? ' ▼' : ''}</button>
            </div>
          ))}
        </div>
        <div className="body" ref={scroller}>
          {pages.isError && <p role="alert" className="error">The contacts could not be loaded. {pages.error.message}</p>}
          {pages.isPending && <p role="status">Loading contacts…</p>}
          {!pages.isPending && !pages.isError && rows.length === 0 && <p className="empty">No contacts match. Clear the search or the filters to see more.</p>}
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {items.map((item) => {
              const c = rows[item.index];
              return (
                <div role="row" key={c.id} aria-rowindex={item.index + 2} aria-selected={item.index === active} tabIndex={item.index === active ? 0 : -1}
                  className={'row' + (item.index === active ? ' active' : '')}
                  style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW, transform: `translateY(${item.start}px)` }}
                  onClick={() => { setActive(item.index); setOpen(c.id); }}
                  onKeyDown={(e) => { if (e.key === 'Enter') setOpen(c.id); }}>
                  {COLUMNS.map((col) => <div role="gridcell" key={col.key}>{col.value(c)}</div>)}
                </div>
              );
            })}
          </div>
        </div>
      </div>
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
