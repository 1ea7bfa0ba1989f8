import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, type Session, statusOf } from './api';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // A fresh installation has nobody to sign in yet: say where the first owner is made.
  const setup = useQuery({ queryKey: ['setup'], queryFn: () => api<{ needed: boolean }>('GET', '/v1/setup'), retry: false });
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<Session>('POST', '/v1/session', { email, password }));
    } catch (e) {
      const status = statusOf(e);
      setError(status === 401 ? 'Wrong email or password.' : status === 429 ? 'Too many attempts. Wait a minute and try again.'
        : status === 0 ? 'The server could not be reached. Check that it is running, then try again.' : 'Sign-in failed. Try again.');
    } finally {
      setBusy(false);
    }
  }
  return (
    <main className="signin">
      <h1>Sign in to Chatsby Contacts</h1>
      {setup.data?.needed && <p className="notice">Nobody can sign in yet: create the owner with the setup link the server printed when it started.</p>}
      <form onSubmit={(e) => void submit(e)}>
        <label>Email<input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Password<input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} /></label>
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </main>
  );
}
