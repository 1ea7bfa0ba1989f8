// Search, filters and sort live in the URL, so a view can be shared and the back button works.
import { useCallback, useEffect, useState } from 'react';

export const FILTER_KEYS = ['source', 'created_from', 'created_to', 'last_active', 'last_seen_from', 'last_seen_to', 'tag', 'conversation_count_min', 'conversation_count_max', 'has_email', 'has_phone'] as const;

export function useUrlParams(): [URLSearchParams, (change: Record<string, string | null>, push?: boolean) => void] {
  const [params, setParams] = useState(() => new URLSearchParams(location.search));
  useEffect(() => {
    const back = () => setParams(new URLSearchParams(location.search));
    addEventListener('popstate', back);
    return () => removeEventListener('popstate', back);
  }, []);
  const update = useCallback((change: Record<string, string | null>, push = true) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(change)) {
      if (v === null || v === '') next.delete(k);
      else next.set(k, v);
    }
    const url = location.pathname + (next.toString() ? '?' + next.toString() : '');
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    setParams(next);
  }, []);
  return [params, update];
}

/** The list parameters of the URL, as the API takes them (search, filters, sort). */
export function listQuery(params: URLSearchParams): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of ['q', 'sort', ...FILTER_KEYS]) {
    const v = params.get(k);
    if (v) q.set(k, v);
  }
  return q;
}

/**
 * The same list parameters as an export's `filters` object: comma lists and tags as arrays, counts as
 * numbers, booleans as booleans (the API's one filter language, in its JSON form). Sort is not a filter.
 */
export function exportFilters(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['q', ...FILTER_KEYS, 'archived']) {
    const all = params.getAll(k).filter(Boolean);
    if (!all.length) continue;
    const v = all[0];
    if (k === 'source' || k === 'tag') out[k] = all.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
    else if (k === 'conversation_count_min' || k === 'conversation_count_max') out[k] = /^\d+$/.test(v) ? Number(v) : v;
    else if (k === 'has_email' || k === 'has_phone') out[k] = v === 'true' ? true : v === 'false' ? false : v;
    else out[k] = v;
  }
  return out;
}
