import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, refused, type Session, setCsrf } from './api';
import { ArchivedPage } from './ArchivedPage';
import { ContactsPage } from './ContactsPage';
import { ImportPage } from './ImportPage';
import { Settings } from './Settings';
import { SignIn } from './SignIn';
import { Failed, Loading } from './States';

const VIEWS = ['contacts', 'archived', 'import', 'settings'] as const;
type View = (typeof VIEWS)[number];
const LABELS: Record<View, string> = { contacts: 'Contacts', archived: 'Archived', import: 'Import', settings: 'Settings' };
const viewOfHash = (): View => VIEWS.find((v) => location.hash === '#' + v) ?? 'contacts';

export function App() {
  const client = useQueryClient();
  const session = useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        const s = await api<Session>('GET', '/v1/session');
        setCsrf(s.csrf_token);
        return s;
      } catch (e) {
        // Refused (401): nobody is signed in. Anything else (server down, 5xx) is an error to show.
        if (refused(e)) return null;
        throw e;
      }
    },
  });
  const [view, setView] = useState<View>(viewOfHash);
  // Links to a view (#import, #settings) and the back button change the hash.
  useEffect(() => {
    const follow = () => setView(viewOfHash());
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);

  if (session.isPending) return <main className="page-state"><Loading>Loading Chatsby Contacts…</Loading></main>;
  if (session.isError) {
    return (
      <main className="page-state">
        <Failed what="Chatsby Contacts could not start." error={session.error} onRetry={() => void session.refetch()} retrying={session.isFetching} />
      </main>
    );
  }
  if (!session.data) return <SignIn onSignedIn={(s) => { setCsrf(s.csrf_token); client.setQueryData(['session'], s); }} />;
  const s = session.data;
  const go = (v: View) => {
    setView(v);
    history.replaceState(null, '', (v === 'contacts' ? location.pathname + location.search : '#' + v));
  };
  // Signed out: the sign-in page, and nothing of this session's data kept (the session query is the
  // one App watches, so it is set rather than dropped with the others).
  const signOut = () => void api('DELETE', '/v1/session').catch(() => undefined).finally(() => {
    client.setQueryData(['session'], null);
    client.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
  });
  // Viewers read: no Import entry (the page itself says so if reached by its address).
  const entries = VIEWS.filter((v) => v !== 'import' || s.role !== 'viewer');
  return (
    <div className="app">
      <header className="top">
        <strong>{s.workspace.name}</strong>
        <nav aria-label="Main">
          {entries.map((v) => <button type="button" key={v} aria-current={view === v ? 'page' : undefined} onClick={() => go(v)}>{LABELS[v]}</button>)}
        </nav>
        <span className="who">{s.user.email} ({s.role})</span>
        <button type="button" onClick={signOut}>Sign out</button>
      </header>
      {view === 'contacts' && <ContactsPage session={s} />}
      {view === 'archived' && <ArchivedPage session={s} />}
      {view === 'import' && <ImportPage session={s} />}
      {view === 'settings' && <Settings session={s} />}
    </div>
  );
}
