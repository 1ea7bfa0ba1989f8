// The contacts table: TanStack Table holds the columns and the sorting state (the server sorts: the
// state is the URL's `sort`, and a header click asks for a new one), TanStack Virtual renders only
// the rows near the viewport, and the next cursor page is fetched as the last loaded rows near.
import { type ColumnDef, flexRender, getCoreRowModel, type Row, type SortingState, type Updater, useReactTable } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Contact } from './api';

/** The columns, defined once; each id is the API's sort field. */
const COLUMNS: Array<ColumnDef<Contact>> = [
  { id: 'name', header: 'Name', accessorFn: (c) => c.name ?? '—' },
  { id: 'email', header: 'Email', accessorFn: (c) => c.email ?? '' },
  { id: 'phone', header: 'Phone', accessorFn: (c) => c.phone ?? '' },
  { id: 'source', header: 'Source', accessorFn: (c) => c.source },
  { id: 'created_at', header: 'Created', accessorFn: (c) => c.created_at, cell: (cell) => new Date(cell.getValue<string>()).toLocaleDateString() },
  { id: 'conversation_count', header: 'Conversations', accessorFn: (c) => c.conversation_count },
];
const coreRowModel = getCoreRowModel<Contact>();
const ROW = 36;
const OVERSCAN = 20;
/** Fetch the next page when the rendered rows come this close to the last loaded one. */
const PREFETCH_ROWS = 30;

/** `-last_seen` as TanStack's sorting state, and back. */
const toSorting = (sort: string): SortingState => [{ id: sort.replace(/^-/, ''), desc: sort.startsWith('-') }];
const fromSorting = (s: SortingState): string | null => (s[0] ? (s[0].desc ? '-' : '') + s[0].id : null);

export interface ContactsTableProps {
  /** Every loaded row, in the API's order. */
  rows: Contact[];
  /** The URL's sort (`name`, `-created_at`). */
  sort: string;
  onSort: (sort: string | null) => void;
  /** A new list is on its way (the rows shown are the previous answer's). */
  busy: boolean;
  hasMore: boolean;
  fetchingMore: boolean;
  fetchMore: () => void;
  /** The contact open in the detail dialog: while set the keys are the dialog's; when it closes, focus returns to its row. */
  open: string | null;
  onOpen: (id: string) => void;
  /** The list's identity (search, filters, sort): a new one starts at the top. */
  listKey: string;
}

export const ContactsTable = memo(function ContactsTable({ rows, sort, onSort, busy, hasMore, fetchingMore, fetchMore, open, onOpen, listKey }: ContactsTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [active, setActive] = useState(0);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: OVERSCAN });
  const items = virtual.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const end = (items[items.length - 1]?.index ?? -1) + 1;

  // The table's rows are those the virtualiser renders: building TanStack rows for all the loaded
  // contacts (tens of thousands after a long scroll) on every page would block the main thread.
  const windowRows = useMemo(() => rows.slice(first, end), [rows, first, end]);
  const sorting = useMemo(() => toSorting(sort), [sort]);
  const onSortingChange = useCallback((u: Updater<SortingState>) => onSort(fromSorting(typeof u === 'function' ? u(sorting) : u)), [onSort, sorting]);
  const table = useReactTable({
    data: windowRows,
    columns: COLUMNS,
    getCoreRowModel: coreRowModel,
    getRowId: (c) => c.id,
    state: { sorting },
    onSortingChange,
    manualSorting: true,
    enableMultiSort: false,
    enableSortingRemoval: false,
    // Ascending on the first click, whatever the column's type.
    sortDescFirst: false,
  });

  const last = end - 1;
  useEffect(() => {
    if (last >= 0 && last >= rows.length - PREFETCH_ROWS && hasMore && !fetchingMore) fetchMore();
  }, [last, rows.length, hasMore, fetchingMore, fetchMore]);

  // Focus follows the active row (j/k, and back from the detail dialog): now if the row is rendered,
  // else once the virtualiser has scrolled it into the rendered window.
  const focusWanted = useRef<number | null>(null);
  const focusIfRendered = useCallback(() => {
    const index = focusWanted.current;
    if (index === null) return;
    const row = scroller.current?.querySelector<HTMLElement>(`[role="row"][aria-rowindex="${index + 2}"]`);
    if (row) {
      focusWanted.current = null;
      row.focus({ preventScroll: true });
    }
  }, []);
  useEffect(focusIfRendered);
  const focusRow = useCallback((index: number) => {
    focusWanted.current = index;
    virtual.scrollToIndex(index);
    focusIfRendered();
  }, [virtual, focusIfRendered]);

  // A new list starts at its top, with its first row active.
  const shownKey = useRef(listKey);
  useEffect(() => {
    if (shownKey.current === listKey) return;
    shownKey.current = listKey;
    setActive(0);
    focusWanted.current = null;
    virtual.scrollToOffset(0);
  }, [listKey, virtual]);

  // Back from the detail dialog: focus returns to the row it was opened from.
  const wasOpen = useRef(open);
  useEffect(() => {
    if (wasOpen.current && !open && rows.length) focusRow(Math.min(active, rows.length - 1));
    wasOpen.current = open;
  }, [open, active, rows.length, focusRow]);

  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const openRow = useCallback((index: number) => {
    const c = rowsRef.current[index];
    if (!c) return;
    setActive(index);
    onOpen(c.id);
  }, [onOpen]);

  // Keyboard: j/k (and the arrows on a row) move through the rows, Enter opens the active one (Escape is the dialog's).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (open || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || document.querySelector('dialog[open]')) return;
      const target = e.target instanceof Element ? e.target : null;
      if (!rows.length || target?.closest('input, select, textarea, [contenteditable="true"]')) return;
      const onRow = Boolean(target?.closest('[role="row"][aria-rowindex]'));
      // The arrows too, on a row (elsewhere they are the page's).
      const step = e.key === 'j' || (onRow && e.key === 'ArrowDown') ? 1 : e.key === 'k' || (onRow && e.key === 'ArrowUp') ? -1 : 0;
      if (step) {
        e.preventDefault();
        const next = Math.max(0, Math.min(rows.length - 1, active + step));
        setActive(next);
        focusRow(next);
      } else if (e.key === 'Enter' && (!target || target === document.body || onRow)) {
        // On a row or on nothing in particular; Enter on a button or a link is theirs.
        e.preventDefault();
        openRow(active);
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [open, rows.length, active, focusRow, openRow]);

  return (
    <div role="grid" aria-label="Contacts" aria-rowcount={rows.length + 1} aria-busy={busy || undefined} className="grid">
      {table.getHeaderGroups().map((group) => (
        <div role="row" className="row head" key={group.id}>
          {group.headers.map((header) => {
            const dir = header.column.getIsSorted();
            return (
              <div role="columnheader" key={header.id} aria-sort={dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : 'none'}>
                <button type="button" onClick={header.column.getToggleSortingHandler()}>
                  {flexRender(header.column.columnDef.header, header.getContext())}
                  <span aria-hidden="true" className="sort-mark">{dir === 'asc' ? ' ▲' : dir === 'desc' ? ' ▼' : ''}</span>
                </button>
              </div>
            );
          })}
        </div>
      ))}
      <div className="body" ref={scroller}>
        <div className="rows" style={{ height: virtual.getTotalSize() }}>
          {table.getRowModel().rows.map((row) => {
            const index = first + row.index;
            return <BodyRow key={row.id} row={row} index={index} start={items[row.index]?.start ?? index * ROW} active={index === active} onOpen={openRow} />;
          })}
        </div>
      </div>
    </div>
  );
});

interface BodyRowProps { row: Row<Contact>; index: number; start: number; active: boolean; onOpen: (index: number) => void }

/**
 * One contact's row. A row is drawn again only when its contact, place or activeness changes: not
 * when the window slides (a new TanStack row for the same contact), nor on a keystroke elsewhere.
 */
const BodyRow = memo(function BodyRow({ row, index, start, active, onOpen }: BodyRowProps) {
  return (
    <div role="row" aria-rowindex={index + 2} aria-selected={active} tabIndex={active ? 0 : -1} className={active ? 'row active' : 'row'}
      style={{ transform: `translateY(${start}px)` }} onClick={() => onOpen(index)}>
      {row.getVisibleCells().map((cell) => <div role="gridcell" key={cell.column.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</div>)}
    </div>
  );
}, (a, b) => a.row.original === b.row.original && a.index === b.index && a.start === b.start && a.active === b.active && a.onOpen === b.onOpen);
