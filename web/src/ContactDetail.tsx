import { useMutation, useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { api, ApiError, type Contact, type Page, problemText, statusOf } from './api';
import { Failed, Loading } from './States';

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
    onError: (e) => setError(e instanceof ApiError ? e.fieldError(field) ?? e.message : problemText(e, 'Could not save')),
  });
  const id = `field-${field}`;
  if (!canWrite) return <p><strong>{label}:</strong> {contact[field] ?? '—'}</p>;
  return (
    <form className="field" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
      <label htmlFor={id}>{label}</label>
      <input id={id} value={value} onChange={(e) => { setValue(e.target.value); save.reset(); }} aria-invalid={error ? true : undefined} aria-describedby={error ? id + '-error' : undefined} />
      <button type="submit" aria-label={`Save ${label}`} disabled={save.isPending}>Save</button>
      {error && <span id={id + '-error'} className="error" role="alert">{error}</span>}
      <span role="status" className="ok">{save.isSuccess ? 'Saved' : ''}</span>
    </form>
  );
}

/** A list of the contact's (conversations, activity, notes): loading, failed with Try again, empty, or its items. */
function ListOf<T>({ query, what, empty, children }: { query: UseQueryResult<Page<T>>; what: string; empty: string; children: (items: T[]) => ReactNode }) {
  if (query.isPending) return <Loading className="small">Loading {what}…</Loading>;
  if (query.isError) return <Failed what={`The ${what} could not be loaded.`} error={query.error} onRetry={() => void query.refetch()} retrying={query.isFetching} className="inline" />;
  if (query.data.data.length === 0) return <p className="muted">{empty}</p>;
  return <>{children(query.data.data)}</>;
}

export function ContactDetail({ id, canWrite, onClose }: { id: string; canWrite: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const client = useQueryClient();
  // A modal dialog: the page behind is inert, Escape closes it; focus starts on the dialog itself.
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (!dialog.open) dialog.showModal();
    dialog.focus();
  }, []);
  const contact = useQuery({ queryKey: ['contact', id], queryFn: () => api<Contact>('GET', `/v1/contacts/${id}`) });
  const loaded = contact.isSuccess;
  const notes = useQuery({ queryKey: ['notes', id], queryFn: () => api<Page<Note>>('GET', `/v1/contacts/${id}/notes`), enabled: loaded });
  const timeline = useQuery({ queryKey: ['timeline', id], queryFn: () => api<Page<Entry>>('GET', `/v1/contacts/${id}/timeline`), enabled: loaded });
  const conversations = useQuery({ queryKey: ['conversations', id], queryFn: () => api<Page<Conversation>>('GET', `/v1/contacts/${id}/conversations`), enabled: loaded });
  const tagSuggestions = useQuery({ queryKey: ['tags'], queryFn: () => api<{ data: Array<{ tag: string }> }>('GET', '/v1/tags?limit=200'), enabled: loaded && canWrite });
  const [note, setNote] = useState('');
  const [tag, setTag] = useState('');
  const [transcript, setTranscript] = useState<{ id: string; state: 'loading' | 'failed' | 'shown'; conversation?: Conversation; error?: unknown } | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const refresh = () => { void client.invalidateQueries({ queryKey: ['contact', id] }); void client.invalidateQueries({ queryKey: ['timeline', id] }); void client.invalidateQueries({ queryKey: ['contacts'] }); };
  const close = () => ref.current?.close();

  const setTags = async (tags: string[]) => {
    try {
      client.setQueryData(['contact', id], await api<Contact>('PATCH', `/v1/contacts/${id}`, { tags }));
      setMessage(null);
      refresh();
    } catch (e) {
      setMessage({ kind: 'error', text: e instanceof ApiError ? e.message : problemText(e, 'Could not change the tags') });
    }
  };
  const openTranscript = async (conversationId: string) => {
    setTranscript({ id: conversationId, state: 'loading' });
    try {
      setTranscript({ id: conversationId, state: 'shown', conversation: await api<Conversation>('GET', `/v1/conversations/${conversationId}`) });
    } catch (error) {
      setTranscript({ id: conversationId, state: 'failed', error });
    }
  };
  const addNote = async () => {
    try {
      await api('POST', `/v1/contacts/${id}/notes`, { body: note });
      setNote('');
      setMessage({ kind: 'ok', text: 'Note added.' });
      void client.invalidateQueries({ queryKey: ['notes', id] });
      refresh();
    } catch (err) {
      setMessage({ kind: 'error', text: err instanceof ApiError ? problemText(err) : problemText(err, 'Could not add the note') });
    }
  };
  const remove = async () => {
    try {
      await api('DELETE', `/v1/contacts/${id}`);
      void client.invalidateQueries({ queryKey: ['contacts'] });
      void client.invalidateQueries({ queryKey: ['count'] });
      close();
    } catch (err) {
      setMessage({ kind: 'error', text: `The contact could not be deleted. ${problemText(err)}` });
    }
  };

  const c = contact.data;
  const gone = contact.isError && statusOf(contact.error) === 404;
  const title = c ? c.name ?? c.email ?? c.phone ?? c.id : gone ? 'Contact not found' : 'Contact';
  // Named by its heading once there is one; while loading, by a plain label.
  return (
    <dialog ref={ref} className="detail" aria-labelledby={contact.isPending ? undefined : 'detail-title'} aria-label={contact.isPending ? 'Contact' : undefined}
      aria-busy={contact.isPending || undefined} tabIndex={-1} onClose={onClose}>
      <div className="dialog-head">
        {!contact.isPending && <h2 id="detail-title">{title}</h2>}
        <button type="button" className="close" onClick={close}>Close</button>
      </div>
      {contact.isPending && <Loading>Loading the contact…</Loading>}
      {gone && (
        <div role="alert" className="state empty">
          <p className="state-title">This contact no longer exists.</p>
          <p>It was deleted or merged into another contact since the list was loaded.</p>
        </div>
      )}
      {contact.isError && !gone && <Failed what="This contact could not be loaded." error={contact.error} onRetry={() => void contact.refetch()} retrying={contact.isFetching} />}
      {c && (
        <>
          <section aria-label="Contact information">
            {EDITABLE.map((f) => <Field key={f.key} contact={c} field={f.key} label={f.label} canWrite={canWrite} />)}
            <p><strong>Source:</strong> {c.source} · <strong>Stage:</strong> {c.lifecycle_stage} · <strong>Conversations:</strong> {c.conversation_count}</p>
            <p><strong>First seen:</strong> {new Date(c.first_seen).toLocaleString()} · <strong>Last seen:</strong> {new Date(c.last_seen).toLocaleString()}</p>
            <p><strong>Page:</strong> {c.page_url ?? '—'} · <strong>Country:</strong> {c.ip_country ?? '—'} · <strong>Id:</strong> {c.id}</p>
          </section>
          <section aria-label="Tags">
            <h3>Tags</h3>
            {c.tags.length === 0 && <p className="muted">No tags yet.{canWrite ? ' Add one below to group this contact with others.' : ''}</p>}
            {c.tags.length > 0 && <ul className="chips">{c.tags.map((t) => <li key={t}>{t}{canWrite && <button type="button" aria-label={`Remove tag ${t}`} onClick={() => void setTags(c.tags.filter((x) => x !== t))}>×</button>}</li>)}</ul>}
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
            <ListOf query={conversations} what="conversations" empty="No conversations are recorded for this contact.">
              {(list) => (
                <ul>{list.map((v) => (
                  <li key={v.id}><button type="button" aria-expanded={transcript?.id === v.id && transcript.state === 'shown'} onClick={() => void openTranscript(v.id)}>
                    {new Date(v.started_at).toLocaleString()} · {v.channel} · {v.message_count} messages</button></li>
                ))}</ul>
              )}
            </ListOf>
            {transcript?.state === 'loading' && <Loading className="small">Loading the transcript…</Loading>}
            {transcript?.state === 'failed' && <Failed what="The transcript could not be loaded." error={transcript.error} onRetry={() => void openTranscript(transcript.id)} className="inline" />}
            {transcript?.state === 'shown' && (
              <div className="transcript" role="region" aria-label="Transcript">
                {transcript.conversation?.messages?.length ? transcript.conversation.messages.map((m) => <p key={m.id} className={'msg ' + m.role}><strong>{m.role}:</strong> {m.text}</p>) : <p className="muted">No messages in this conversation.</p>}
              </div>
            )}
          </section>
          <section aria-label="Activity timeline">
            <h3>Activity</h3>
            <ListOf query={timeline} what="activity" empty="No activity yet.">
              {(list) => <ul>{list.map((e) => <li key={e.id}>{new Date(e.occurred_at).toLocaleString()}: {e.type}</li>)}</ul>}
            </ListOf>
          </section>
          <section aria-label="Notes">
            <h3>Notes</h3>
            {canWrite && (
              <form onSubmit={(e) => { e.preventDefault(); void addNote(); }}>
                <label>New note<textarea value={note} onChange={(e) => setNote(e.target.value)} /></label>
                <button type="submit">Add note</button>
              </form>
            )}
            <ListOf query={notes} what="notes" empty={canWrite ? 'No notes yet. Notes are for your team only: the contact never sees them.' : 'No notes yet.'}>
              {(list) => <ul>{list.map((n) => <li key={n.id}>{n.body} <small>— {n.author.name ?? 'someone'}, {new Date(n.created_at).toLocaleString()}</small></li>)}</ul>}
            </ListOf>
          </section>
          <section aria-label="Privacy">
            <a className="button" href={`/v1/contacts/${id}/data-export`} download={`${id}-data.json`}>Export Contact Data</a>
            {canWrite && !confirming && <button type="button" className="danger" onClick={() => setConfirming(true)}>Delete Contact</button>}
            {confirming && (
              <div role="alertdialog" aria-label="Confirm deletion" aria-describedby="confirm-deletion-text">
                <p id="confirm-deletion-text">Delete this contact and all its conversations, notes and history? This cannot be undone.</p>
                <button type="button" className="danger" onClick={() => void remove()}>Delete permanently</button>
                <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
              </div>
            )}
          </section>
          {message && <p role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind === 'error' ? 'error' : 'ok'}>{message.text}</p>}
        </>
      )}
    </dialog>
  );
}
