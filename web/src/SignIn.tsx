import { useState, type FormEvent } from 'react';
import { api, ApiError, type Session } from './api';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<Session>('POST', '/v1/session', { email, password }));
    } catch (e) {
      const status = e instanceof ApiError ? e.problem.status : 0;
      setError(status === 401 ? 'Wrong email or password.' : status === 429 ? 'Too many attempts. Wait a minute and try again.' : 'Sign-in failed. Try again.');
    } finally {
      setBusy(false);
    }
  }
  return (
    <main className="signin">
      <h1>Sign in to Chatsby Contacts</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>Email<input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Password<input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} /></label>
        <button type="submit" disabled={busy}>Sign in</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </main>
  );
}
