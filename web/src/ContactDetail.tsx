import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api, ApiError, type Contact, type Page } from './api';

interface Note { id: string; body: string; author: { name: string | null }; created_at: string }
interface Entry { id: string; type: string; occurred_at: string }
interface Conversation { id: string; channel: string; started_at: string; message_count: number; messages?: Array<{ id: string; role: string; text: string }> }

const EDITABLE = [
  { key: 'name', label: 'Name' }, { key: 'email', label: 'Email' }, { key: 'phone', label: 'Phone' }, { key: 'company', label: 'Company' },
] as const;

function Field({ contact, field, label, canWrite }: { contact: Contact; field: 'name' | 'email' | 'phone' | 'company'; label: string; canWrite: boolean }) {
  const client = useQueryClient();
  const [value, setValue] = useState(contact[field] ?? '');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setValue(contact[field] ?? ''), [contact, field]);
  const save = useMutation({
    mutationFn: () => api<Contact>('PATCH', `/v1/contacts/${contact.id}`, { [field]: value }),
    onSuccess: (c) => { setError(null); client.setQueryData(['contact', c.id], c); void client.invalidateQueries({ queryKey: ['contacts'] }); },
    onError: (e) => setError(e instanceof ApiError ? e.fieldError(field) ?? e.message : 'Could not save'),
  });
  const id = `field-${field}`;
  if (!canWrite) return <p><strong>{label}:</strong> {contact[field] ?? '—'}</p>;
  return (
    <form className="field" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
      <label htmlFor={id}>{label}</label>
      <input id={id} value={value} onChange={(e) => setValue(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby={error ? id + '-error' : undefined} />
      <button type="submit" aria-label={`Save ${label}`}>Save</button>
      {error && <span id={id + '-error'} className="error" role="alert">{error}</span>}
    </form>
  );
}

export function ContactDetail({ id, canWrite, onClose }: { id: string; canWrite: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const client = useQueryClient();
  useEffect(() => ref.current?.showModal(), []);
  const contact = useQuery({ queryKey: ['contact', id], queryFn: () => api<Contact>('GET', `/v1/contacts/${id}`) });
  const notes = useQuery({ queryKey: ['notes', id], queryFn: () => api<Page<Note>>('GET', `/v1/contacts/${id}/notes`) });
  const timeline = useQuery({ queryKey: ['timeline', id], queryFn: () => api<Page<Entry>>('GET', `/v1/contacts/${id}/timeline`) });
  const conversations = useQuery({ queryKey: ['conversations', id], queryFn: () => api<Page<Conversation>>('GET', `/v1/contacts/${id}/conversations`) });
  const tagSuggestions = useQuery({ queryKey: ['tags'], queryFn: () => api<{ data: Array<{ tag: string }> }>('GET', '/v1/tags?limit=200') });
  const [note, setNote] = useState('');
  const [tag, setTag] = useState('');
  const [transcript, setTranscript] = useState<Conversation | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => { void client.invalidateQueries({ queryKey: ['contact', id] }); void client.invalidateQueries({ queryKey: ['timeline', id] }); void client.invalidateQueries({ queryKey: ['contacts'] }); };

  const setTags = async (tags: string[]) => {
    try {
      client.setQueryData(['contact', id], await api<Contact>('PATCH', `/v1/contacts/${id}`, { tags }));
      refresh();
    } catch (e) {
      setMessage(e instanceof ApiError ? e.message : 'Could not change the tags');
    }
  };

  const c = contact.data;
  return (
    <dialog ref={ref} className="detail" aria-labelledby="detail-title" onClose={onClose}>
      {contact.isPending && <p role="status">Loading…</p>}
      {contact.isError && <p role="alert">This contact could not be loaded (it may have been deleted).</p>}
      {c && (
        <>
          <h2 id="detail-title">{c.name ?? c.email ?? c.phone ?? c.id}</h2>
          <section aria-label="Contact information">
            {EDITABLE.map((f) => <Field key={f.key} contact={c} field={f.key} label={f.label} canWrite={canWrite} />)}
            <p><strong>Source:</strong> {c.source} · <strong>Stage:</strong> {c.lifecycle_stage} · <strong>Conversations:</strong> {c.conversation_count}</p>
            <p><strong>First seen:</strong> {new Date(c.first_seen).toLocaleString()} · <strong>Last seen:</strong> {new Date(c.last_seen).toLocaleString()}</p>
            <p><strong>Page:</strong> {c.page_url ?? '—'} · <strong>Country:</strong> {c.ip_country ?? '—'} · <strong>Id:</strong> {c.id}</p>
          </section>
          <section aria-label="Tags">
            <h3>Tags</h3>
            <ul className="chips">{c.tags.map((t) => <li key={t}>{t}{canWrite && <button type="button" aria-label={`Remove tag ${t}`} onClick={() => void setTags(c.tags.filter((x) => x !== t))}>×</button>}</li>)}</ul>
            {canWrite && (
              <form onSubmit={(e) => { e.preventDefault(); if (tag.trim()) void setTags([...c.tags, tag.trim()]); setTag(''); }}>
                <label>Add tag<input list="tag-suggestions" value={tag} onChange={(e) => setTag(e.target.value)} /></label>
                <datalist id="tag-suggestions">{tagSuggestions.data?.data.map((t) => <option key={t.tag} value={t.tag} />)}</datalist>
                <button type="submit">Add</button>
              </form>
            )}
          </section>
          <section aria-label="Conversation history">
            <h3>Conversations</h3>
            {conversations.data?.data.length === 0 && <p className="empty">No conversations yet.</p>}
            <ul>{conversations.data?.data.map((v) => (
              <li key={v.id}><button type="button" onClick={() => void api<Conversation>('GET', `/v1/conversations/${v.id}`).then(setTranscript)}>
                {new Date(v.started_at).toLocaleString()} · {v.channel} · {v.message_count} messages</button></li>
            ))}</ul>
            {transcript && (
              <div className="transcript" role="region" aria-label="Transcript">
                {transcript.messages?.map((m) => <p key={m.id} className={'msg ' + m.role}><strong>{m.role}:</strong> {m.text}</p>)}
              </div>
            )}
          </section>
          <section aria-label="Activity timeline">
            <h3>Activity</h3>
            <ul>{timeline.data?.data.map((e) => <li key={e.id}>{new Date(e.occurred_at).toLocaleString()}: {e.type}</li>)}</ul>
          </section>
          <section aria-label="Notes">
            <h3>Notes</h3>
            {canWrite && (
              <form onSubmit={(e) => { e.preventDefault(); void api('POST', `/v1/contacts/${id}/notes`, { body: note }).then(() => { setNote(''); void client.invalidateQueries({ queryKey: ['notes', id] }); refresh(); }).catch((err: unknown) => setMessage(err instanceof ApiError ? err.message : 'Could not add the note')); }}>
                <label>New note<textarea value={note} onChange={(e) => setNote(e.target.value)} /></label>
                <button type="submit">Add note</button>
              </form>
            )}
            <ul>{notes.data?.data.map((n) => <li key={n.id}>{n.body} <small>— {n.author.name ?? 'someone'}, {new Date(n.created_at).toLocaleString()}</small></li>)}</ul>
          </section>
          <section aria-label="Privacy">
            <a className="button" href={`/v1/contacts/${id}/data-export`} download={`${id}-data.json`}>Export Contact Data</a>
            {canWrite && !confirming && <button type="button" className="danger" onClick={() => setConfirming(true)}>Delete Contact</button>}
            {confirming && (
              <div role="alertdialog" aria-label="Confirm deletion">
                <p>Delete this contact and all its conversations, notes and history? This cannot be undone.</p>
                <button type="button" className="danger" onClick={() => void api('DELETE', `/v1/contacts/${id}`).then(() => { void client.invalidateQueries({ queryKey: ['contacts'] }); void client.invalidateQueries({ queryKey: ['count'] }); ref.current?.close(); })}>Delete permanently</button>
                <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
              </div>
            )}
          </section>
          {message && <p role="alert" className="error">{message}</p>}
        </>
      )}
      <button type="button" className="close" onClick={() => ref.current?.close()}>Close</button>
    </dialog>
  );
}
