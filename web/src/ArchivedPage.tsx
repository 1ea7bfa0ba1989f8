import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Contact, type Page, problemText, type Session } from './api';
import { Empty, Failed, Loading } from './States';

const who = (c: Contact) => c.name ?? c.email ?? c.phone ?? c.id;

/**
 * Contacts archived when the workspace reached its plan's limit (the oldest by last activity), with
 * Restore for members: the API refuses (409) while the workspace is still at its limit, and its reason
 * is shown as it comes.
 */
export function ArchivedPage({ session }: { session: Session }) {
  const client = useQueryClient();
  const canWrite = session.role !== 'viewer';
  const [search, setSearch] = useState('');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const query = new URLSearchParams({ archived: 'true', sort: '-last_seen' });
  if (search.trim()) query.set('q', search.trim());
  const key = query.toString();

  const pages = useInfiniteQuery({
    queryKey: ['archived', key],
    queryFn: ({ pageParam }) => api<Page<Contact>>('GET', `/v1/contacts?${key}&limit=50${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`),
    initialPageParam: '',
    getNextPageParam: (last) => (last.has_more ? last.next_cursor ?? undefined : undefined),
    placeholderData: keepPreviousData,
  });
  const count = useQuery({ queryKey: ['archived-count', key], queryFn: () => api<{ count: number }>('GET', `/v1/contacts/count?${key}`), placeholderData: keepPreviousData });
  const restore = useMutation({
    mutationFn: (c: Contact) => api<Contact>('POST', `/v1/contacts/${c.id}/restore`),
    onSuccess: (c) => {
      setMessage({ kind: 'ok', text: `${who(c)} is restored and back in the contacts list.` });
      for (const k of ['archived', 'archived-count', 'contacts', 'count', 'workspace']) void client.invalidateQueries({ queryKey: [k] });
    },
    onError: (e, c) => setMessage({ kind: 'error', text: `${who(c)} could not be restored. ${problemText(e)}` }),
  });
  const rows = pages.data?.pages.flatMap((p) => p.data) ?? [];

  return (
    <main className="archived">
      <div className="toolbar">
        <h1>Archived contacts</h1>
        <label className="search">Search archived contacts
          <input type="search" value={search} placeholder="Name, email, phone or id" onChange={(e) => setSearch(e.target.value)} />
        </label>
        <span className="count" role="status">{count.data ? `${count.data.count.toLocaleString()} archived` : count.isError ? 'Count unavailable' : 'Counting…'}</span>
      </div>
      <p className="hint">When the workspace reaches its plan's contact limit, new contacts are still captured and the oldest by last activity are archived here. Restore one after upgrading the plan or deleting contacts.</p>
      {message && <p role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind === 'error' ? 'error' : 'ok'}>{message.text}</p>}
      {pages.isError && (
        <Failed what={rows.length ? 'More archived contacts could not be loaded.' : 'The archived contacts could not be loaded.'} error={pages.error}
          onRetry={() => void (pages.isFetchNextPageError ? pages.fetchNextPage() : pages.refetch())} retrying={pages.isFetching} />
      )}
      {pages.isPending && <Loading>Loading archived contacts…</Loading>}
      {pages.isSuccess && rows.length === 0 && (search.trim() ? (
        <Empty title={`No archived contact matches “${search.trim()}”`}>
          <button type="button" onClick={() => setSearch('')}>Clear search</button>
        </Empty>
      ) : (
        <Empty title="No archived contacts">
          <p>Nothing has been archived: the workspace is within its plan&apos;s contact limit.</p>
        </Empty>
      ))}
      {rows.length > 0 && (
        <table className="list" aria-label="Archived contacts">
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Phone</th><th scope="col">Last seen</th>{canWrite && <th scope="col"><span className="visually-hidden">Actions</span></th>}</tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.id}>
                <td>{c.name ?? '—'}</td>
                <td>{c.email ?? ''}</td>
                <td>{c.phone ?? ''}</td>
                <td>{new Date(c.last_seen).toLocaleDateString()}</td>
                {canWrite && (
                  <td>
                    <button type="button" aria-label={`Restore ${who(c)}`} disabled={restore.isPending && restore.variables?.id === c.id} onClick={() => { setMessage(null); restore.mutate(c); }}>
                      {restore.isPending && restore.variables?.id === c.id ? 'Restoring…' : 'Restore'}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pages.hasNextPage && (
        <button type="button" disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>{pages.isFetchingNextPage ? 'Loading…' : 'Load more'}</button>
      )}
    </main>
  );
}
