import { useMutation, useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { useState } from 'react';
import { api, apiAll, ApiError, problemText, type Session, type Workspace } from './api';
import { Failed, Loading } from './States';

interface Key { id: string; name: string | null; prefix: string; scopes: string[]; created_at: string; last_used_at: string | null }
interface Member { id: string; email: string; role: string }
interface Rule { id: string; name: string; enabled: boolean }
interface Agent { id: string; name: string; widget_key: string; allowed_origins: string[] }

function errorText(e: unknown): string {
  return e instanceof ApiError ? (e.problem.errors?.map((x) => `${x.field} ${x.message}`).join('; ') || e.message) : problemText(e, 'Something went wrong');
}

/** A settings list's loading and failed states (null once it has loaded). */
function ListState({ query, what }: { query: UseQueryResult; what: string }) {
  if (query.isPending) return <Loading className="small">Loading {what}…</Loading>;
  if (query.isError) return <Failed what={`The ${what} could not be loaded.`} error={query.error} onRetry={() => void query.refetch()} retrying={query.isFetching} className="inline" />;
  return null;
}

export function Settings({ session }: { session: Session }) {
  const admin = session.role === 'admin' || session.role === 'owner';
  const client = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState('');
  const onError = (e: unknown) => { setDone(''); setError(errorText(e)); };
  /** What a change did, said in the status line (and any earlier error cleared). */
  const said = (text: string) => () => { setError(null); setDone(text); };
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => apiAll<Key>('/v1/keys'), enabled: admin });
  const members = useQuery({ queryKey: ['members'], queryFn: () => apiAll<Member>('/v1/members') });
  const ws = useQuery({ queryKey: ['workspace'], queryFn: () => api<Workspace>('GET', '/v1/workspace') });
  const rules = useQuery({ queryKey: ['automations'], queryFn: () => apiAll<Rule>('/v1/automations') });
  const agents = useQuery({ queryKey: ['agents'], queryFn: () => apiAll<Agent>('/v1/agents') });
  const [keyName, setKeyName] = useState('');
  const [newKey, setNewKey] = useState<string | null>(null);
  const [memberEmail, setMemberEmail] = useState('');
  const [memberRole, setMemberRole] = useState('member');
  const [memberPassword, setMemberPassword] = useState('');
  const createKey = useMutation({
    mutationFn: () => api<{ key: string }>('POST', '/v1/keys', { name: keyName || undefined, scopes: ['read', 'write'] }),
    onSuccess: (k) => { setError(null); setNewKey(k.key); setKeyName(''); void client.invalidateQueries({ queryKey: ['keys'] }); },
    onError,
  });
  const patchWorkspace = (body: Record<string, unknown>) => api('PATCH', '/v1/workspace', body).then(said('Workspace settings saved.')).then(() => client.invalidateQueries({ queryKey: ['workspace'] })).catch(onError);

  return (
    <main className="settings">
      <h1>Settings</h1>
      {error && <p role="alert" className="error">{error}</p>}
      <p role="status" className="ok">{done}</p>
      {admin && (
        <section aria-labelledby="keys-title">
          <h2 id="keys-title">API keys</h2>
          <form onSubmit={(e) => { e.preventDefault(); createKey.mutate(); }}>
            <label>Key name<input value={keyName} onChange={(e) => setKeyName(e.target.value)} /></label>
            <button type="submit">Create key</button>
          </form>
          {newKey && (
            <div role="status" className="secret">
              <p>Your new key, shown only now:</p>
              <code>{newKey}</code>
              <button type="button" onClick={() => void navigator.clipboard?.writeText(newKey)}>Copy key</button>
            </div>
          )}
          <ListState query={keys} what="API keys" />
          {keys.data?.data.length === 0 && <p className="muted">No API keys yet. Create one to let your agent, a script or your CRM use the API.</p>}
          <ul>{keys.data?.data.map((k) => (
            <li key={k.id}>{k.name ?? '(no name)'} · {k.prefix}… · {k.scopes.join(', ')}
              <button type="button" aria-label={`Revoke key ${k.name ?? k.prefix}`} onClick={() => void api('DELETE', `/v1/keys/${k.id}`).then(said(`Key ${k.name ?? k.prefix} revoked.`)).then(() => client.invalidateQueries({ queryKey: ['keys'] })).catch(onError)}>Revoke</button></li>
          ))}</ul>
        </section>
      )}
      <section aria-labelledby="members-title">
        <h2 id="members-title">Team members</h2>
        <ListState query={members} what="team members" />
        {members.data?.data.length === 1 && <p className="muted">Only you so far.{admin ? ' Add your teammates below: viewers read, members also edit, admins manage the settings.' : ''}</p>}
        <ul>{members.data?.data.map((m) => (
          <li key={m.id}>{m.email} · {admin && m.id !== session.user.id ? (
            <label>Role of {m.email}<select value={m.role} onChange={(e) => void api('PATCH', `/v1/members/${m.id}`, { role: e.target.value }).then(said(`${m.email} is now ${e.target.value}.`)).then(() => client.invalidateQueries({ queryKey: ['members'] })).catch(onError)}>
              {['viewer', 'member', 'admin', 'owner'].map((r) => <option key={r}>{r}</option>)}
            </select></label>
          ) : m.role}</li>
        ))}</ul>
        {admin && (
          <form onSubmit={(e) => { e.preventDefault(); void api('POST', '/v1/members', { email: memberEmail, role: memberRole, password: memberPassword || undefined }).then(() => { said(`${memberEmail} added as ${memberRole}.`)(); setMemberEmail(''); setMemberPassword(''); return client.invalidateQueries({ queryKey: ['members'] }); }).catch(onError); }}>
            <label>Member email<input type="email" value={memberEmail} onChange={(e) => setMemberEmail(e.target.value)} /></label>
            <label>Member role<select value={memberRole} onChange={(e) => setMemberRole(e.target.value)}>{['viewer', 'member', 'admin', 'owner'].map((r) => <option key={r}>{r}</option>)}</select></label>
            <label>Initial password<input type="password" autoComplete="new-password" value={memberPassword} onChange={(e) => setMemberPassword(e.target.value)} /></label>
            <button type="submit">Add member</button>
          </form>
        )}
      </section>
      {ws.isPending && <Loading>Loading the workspace…</Loading>}
      {ws.isError && <Failed what="The workspace settings could not be loaded." error={ws.error} onRetry={() => void ws.refetch()} retrying={ws.isFetching} />}
      {ws.data && (
        <section aria-labelledby="workspace-title">
          <h2 id="workspace-title">Workspace</h2>
          <PlanUsage workspace={ws.data} />
          {admin ? (
            <>
              <label>Plan<select value={ws.data.plan} onChange={(e) => void patchWorkspace({ plan: e.target.value })}>{['free', 'pro', 'business', 'enterprise'].map((p) => <option key={p}>{p}</option>)}</select></label>
              <label>Time zone<input defaultValue={ws.data.timezone} onBlur={(e) => void patchWorkspace({ timezone: e.target.value })} /></label>
              <label><input type="checkbox" checked={ws.data.consent_required} onChange={(e) => void patchWorkspace({ consent_required: e.target.checked })} /> Require consent before capturing details</label>
              <label>Consent banner text<input defaultValue={ws.data.consent_text ?? ''} onBlur={(e) => void patchWorkspace({ consent_text: e.target.value })} /></label>
            </>
          ) : <p>Time zone: {ws.data.timezone} · Consent required: {ws.data.consent_required ? 'yes' : 'no'}</p>}
        </section>
      )}
      <section aria-labelledby="rules-title">
        <h2 id="rules-title">Automation rules</h2>
        <ListState query={rules} what="automation rules" />
        {rules.data?.data.length === 0 && <p className="muted">No automation rules yet. A rule tags a contact or sets its stage when something happens (a lead captured, a third conversation); rules are made with the API (POST /v1/automations).</p>}
        <ul>{rules.data?.data.map((r) => (
          <li key={r.id}>{admin ? (
            <label><input type="checkbox" checked={r.enabled} onChange={(e) => void api('PATCH', `/v1/automations/${r.id}`, { enabled: e.target.checked }).then(said(`${r.name} turned ${e.target.checked ? 'on' : 'off'}.`)).then(() => client.invalidateQueries({ queryKey: ['automations'] })).catch(onError)} /> {r.name}</label>
          ) : `${r.name} (${r.enabled ? 'on' : 'off'})`}</li>
        ))}</ul>
      </section>
      <section aria-labelledby="agents-title">
        <h2 id="agents-title">Agents and the widget</h2>
        <ListState query={agents} what="agents" />
        {agents.data?.data.length === 0 && <p className="muted">No agents yet. Every workspace normally has one: create it with the API (POST /v1/agents).</p>}
        {agents.data?.data.map((a) => (
          <div key={a.id} className="agent">
            <h3>{a.name}</h3>
            <p>Widget key: <code>{a.widget_key}</code></p>
            <p>Allowed origins: {a.allowed_origins.join(', ') || 'none yet'}</p>
            {admin && <label>Allowed origins of {a.name}<input defaultValue={a.allowed_origins.join(', ')} onBlur={(e) => void api('PATCH', `/v1/agents/${a.id}`, { allowed_origins: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) }).then(said(`Allowed origins of ${a.name} saved.`)).then(() => client.invalidateQueries({ queryKey: ['agents'] })).catch(onError)} /></label>}
            <p>Paste into your site:</p>
            <pre>{`<script src="${location.origin}/widget.js" data-key="${a.widget_key}" async></script>`}</pre>
          </div>
        ))}
      </section>
    </main>
  );
}

/** The plan and how much of it is used: "N of LIMIT contacts" (or no limit), and how many are archived. */
function PlanUsage({ workspace }: { workspace: Workspace }) {
  const { contacts } = workspace.usage;
  const limit = workspace.limits.contacts;
  const archived = workspace.usage.archived_contacts;
  const full = limit !== null && contacts >= limit;
  return (
    <div className="usage" role="group" aria-label="Plan usage">
      <p>Plan: <strong>{workspace.plan}</strong></p>
      <p>{limit === null ? `${contacts.toLocaleString()} contacts, no limit` : `${contacts.toLocaleString()} of ${limit.toLocaleString()} contacts`}</p>
      {limit !== null && <meter aria-label="Contacts used" min={0} max={limit} value={Math.min(contacts, limit)} high={limit * 0.9} optimum={0} />}
      <p>{archived === 0 ? 'No archived contacts' : `${archived.toLocaleString()} archived ${archived === 1 ? 'contact' : 'contacts'}`}</p>
      {full && <p className="notice">The workspace is at its plan's limit: new contacts are still captured, and the oldest by last activity are archived. Upgrade the plan or delete contacts to restore them.</p>}
    </div>
  );
}
