import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Session, setCsrf } from './api';
import { ArchivedPage } from './ArchivedPage';
import { ContactsPage } from './ContactsPage';
import { ImportPage } from './ImportPage';
import { Settings } from './Settings';
import { SignIn } from './SignIn';

const VIEWS = ['contacts', 'archived', 'import', 'settings'] as const;
type View = (typeof VIEWS)[number];
const LABELS: Record<View, string> = { contacts: 'Contacts', archived: 'Archived', import: 'Import', settings: 'Settings' };

export function App() {
  const client = useQueryClient();
  const session = useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        const s = await api<Session>('GET', '/v1/session');
        setCsrf(s.csrf_token);
        return s;
      } catch {
        return null;
      }
    },
  });
  const [view, setView] = useState<View>(() => VIEWS.find((v) => location.hash === '#' + v) ?? 'contacts');

  if (session.isPending) return <p className="loading" role="status">Loading…</p>;
  if (!session.data) return <SignIn onSignedIn={(s) => { setCsrf(s.csrf_token); client.setQueryData(['session'], s); }} />;
  const s = session.data;
  const go = (v: View) => {
    setView(v);
    history.replaceState(null, '', (v === 'contacts' ? location.pathname + location.search : '#' + v));
  };
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
        <button type="button" onClick={() => void api('DELETE', '/v1/session').finally(() => { client.clear(); client.setQueryData(['session'], null); })}>Sign out</button>
      </header>
      {view === 'contacts' && <ContactsPage session={s} />}
      {view === 'archived' && <ArchivedPage session={s} />}
      {view === 'import' && <ImportPage session={s} />}
      {view === 'settings' && <Settings session={s} />}
    </div>
  );
}
