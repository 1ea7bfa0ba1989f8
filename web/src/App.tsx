import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Session, setCsrf } from './api';
import { ContactsPage } from './ContactsPage';
import { Settings } from './Settings';
import { SignIn } from './SignIn';

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
  const [view, setView] = useState<'contacts' | 'settings'>(() => (location.hash === '#settings' ? 'settings' : 'contacts'));

  if (session.isPending) return <p className="loading" role="status">Loading…</p>;
  if (!session.data) return <SignIn onSignedIn={(s) => { setCsrf(s.csrf_token); client.setQueryData(['session'], s); }} />;
  const s = session.data;
  const go = (v: 'contacts' | 'settings') => {
    setView(v);
    history.replaceState(null, '', (v === 'settings' ? '#settings' : location.pathname + location.search));
  };
  return (
    <div className="app">
      <header className="top">
        <strong>{s.workspace.name}</strong>
        <nav aria-label="Main">
          <button type="button" aria-current={view === 'contacts' ? 'page' : undefined} onClick={() => go('contacts')}>Contacts</button>
          <button type="button" aria-current={view === 'settings' ? 'page' : undefined} onClick={() => go('settings')}>Settings</button>
        </nav>
        <span className="who">{s.user.email} ({s.role})</span>
        <button type="button" onClick={() => void api('DELETE', '/v1/session').finally(() => { client.clear(); client.setQueryData(['session'], null); })}>Sign out</button>
      </header>
      {view === 'contacts' ? <ContactsPage session={s} /> : <Settings session={s} />}
    </div>
  );
}
