import { useState } from 'react';

export function FiltersPanel({ params, setParams }: { params: URLSearchParams; setParams: (c: Record<string, string | null>) => void }) {
  const [draft, setDraft] = useState<Record<string, string>>(() => {
    const now = Object.fromEntries(params.entries());
    // A custom "last active since" is in the URL as last_seen_from alone.
    return now.last_seen_from && !now.last_active ? { ...now, last_active: 'custom' } : now;
  });
  const field = (key: string) => ({ value: draft[key] ?? '', onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value }) });
  const apply = () => {
    const change: Record<string, string | null> = {};
    for (const k of ['source', 'created_from', 'created_to', 'last_active', 'last_seen_from', 'tag', 'conversation_count_min', 'conversation_count_max', 'has_email', 'has_phone']) change[k] = draft[k] || null;
    if (draft.last_active === 'custom') change.last_active = null;
    else change.last_seen_from = null;
    setParams(change);
  };
  return (
    <section className="filters" id="filters" aria-label="Filters">
      <label>Source<input {...field('source')} placeholder="widget,api" /></label>
      <label>Created from<input type="date" {...field('created_from')} /></label>
      <label>Created to<input type="date" {...field('created_to')} /></label>
      <label>Last active<select {...field('last_active')}>
        <option value="">Any time</option><option value="today">Today</option><option value="7d">Last 7 days</option><option value="30d">Last 30 days</option><option value="custom">Custom</option>
      </select></label>
      {draft.last_active === 'custom' && <label>Last active since<input type="date" {...field('last_seen_from')} /></label>}
      <label>Tag<input {...field('tag')} /></label>
      <label>Conversations min<input type="number" min="0" {...field('conversation_count_min')} /></label>
      <label>Conversations max<input type="number" min="0" {...field('conversation_count_max')} /></label>
      <label>Has email<select {...field('has_email')}><option value="">Either</option><option value="true">Yes</option><option value="false">No</option></select></label>
      <label>Has phone<select {...field('has_phone')}><option value="">Either</option><option value="true">Yes</option><option value="false">No</option></select></label>
      <button type="button" onClick={apply}>Apply filters</button>
    </section>
  );
}
