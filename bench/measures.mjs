// What is measured: the search terms picked from the loaded data, and each read measure with its API
// parameters and target (ARCHITECTURE.md, Scale).

export const TARGETS = {
  searchP95: 10,
  pageP95: 5,
  getP95: 2,
  createsPerSecond: 3000,
  loadRowsPerSecond: 20000,
  rssMiB: 200,
  exportRowsPerSecond: 150_000,
  /** RSS may grow this much from 100,000 rows written to the end of the export ("flat"). */
  exportRssGrowthMiB: 30,
  importSecondsPerMillion: 60,
};

/**
 * The combined filter over the last six months of the data: the dashboard's usual view. The same filter
 * over an older six months is measured beside it: walking (source, last_seen) from the newest row
 * meets few matches there, so it shows what the plan costs when the range is far from the sort's start.
 */
const combinedFilter = (from, to) => ({
  source: 'widget',
  first_seen_from: `${from}T00:00:00.000Z`,
  first_seen_to: `${to}T23:59:59.999Z`,
  conversation_count_min: '3',
  has_email: 'true',
  sort: '-last_seen',
});
export const COMBINED_FILTER = combinedFilter('2025-07-01', '2025-12-31');
export const COMBINED_FILTER_OLDER = combinedFilter('2024-07-01', '2024-12-31');

/**
 * Search terms from the generated rows around the sample point. A rare email fragment: the last five
 * letters of a local part and the first two characters of its base-36 row suffix (a few dozen rows at
 * a million). A phone fragment: five digits from inside a generated phone number.
 */
export function pickTerms(sampled, idSample) {
  let rare = null;
  let phone = null;
  for (const { index, rec } of sampled) {
    const suffix = index.toString(36);
    const local = rec.email ? rec.email.split('@')[0] : '';
    if (!rare && local && rec.email === rec.email.toLowerCase() && local.endsWith(suffix)) {
      const letters = local.slice(0, -suffix.length);
      // Prefer the last name's letters (no dot) when it has four or more.
      const last = letters.split('.').pop();
      if (letters.length >= 5) rare = (last.length >= 4 ? last.slice(-5) : letters.slice(-5)) + suffix.slice(0, 2);
    }
    if (!phone && rec.phone) {
      const digits = rec.phone.replace(/\D/g, '');
      if (digits.length >= 9) phone = digits.slice(-7, -2);
    }
  }
  const id = idSample[Math.floor(idSample.length / 2)] ?? 'ctc_0000';
  return {
    common: 'ann',
    common2: 'gmail',
    medium: 'z@gmail',
    rare: rare ?? 'johnson1',
    absent: 'zzqxj',
    phone: phone ?? '55512',
    // Ids begin with 8 characters of time (newer ones; older ones are random from the start): the prefix
    // a person types to find one contact runs 4 characters into the random part.
    idPrefix: id.length >= 28 ? id.slice(0, 16) : 'ctc_' + id.slice(4, 8),
    twoLetter: 'sa',
  };
}

const search = (key, label, q) => ({ key, label, kind: 'search', params: { q }, q, target: { p95: TARGETS.searchP95 } });

/** The read measures; `extra` carries the deep-page cursor and the ids for random gets. */
export function readMeasures(terms, extra) {
  return [
    search('search_common', `search \`${terms.common}\` (common term)`, terms.common),
    search('search_common2', `search \`${terms.common2}\` (common term)`, terms.common2),
    search('search_medium', `search \`${terms.medium}\` (mid-frequency term)`, terms.medium),
    search('search_rare', `search \`${terms.rare}\` (rare email fragment)`, terms.rare),
    search('search_absent', `search \`${terms.absent}\` (absent term)`, terms.absent),
    search('search_phone', `search \`${terms.phone}\` (phone digits)`, terms.phone),
    search('search_id', `search \`${terms.idPrefix}\` (id prefix)`, terms.idPrefix),
    search('search_two', `search \`${terms.twoLetter}\` (two-letter word prefix)`, terms.twoLetter),
    { key: 'filter', label: 'combined filter (first_seen 2025-07..12), sort -last_seen', kind: 'filter', params: COMBINED_FILTER, target: { p95: TARGETS.pageP95 } },
    { key: 'filter_older', label: 'combined filter (first_seen 2024-07..12), sort -last_seen', kind: 'filter', params: COMBINED_FILTER_OLDER, target: { p95: TARGETS.pageP95 } },
    { key: 'page', label: 'page of 50 by last_seen', kind: 'page', params: { limit: '50' }, target: { p95: TARGETS.pageP95 } },
    { key: 'page_deep', label: `page of 50 by last_seen after a cursor (page ${extra.deepPage})`, kind: 'page', params: { limit: '50', cursor: extra.cursor }, cursor: extra.cursor, target: { p95: TARGETS.pageP95 } },
    { key: 'get', label: 'get by id (random ids)', kind: 'get', ids: extra.ids, target: { p95: TARGETS.getP95 } },
    { key: 'count', label: 'count source=widget', kind: 'count', params: { source: 'widget' }, target: null },
  ];
}

/** The API's classification of a search term (API.md, List parameters), for the hand-written SQL. */
export function classify(q) {
  const term = q.trim();
  const folded = term.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  const digitCount = (term.match(/\d/g) ?? []).length;
  return {
    folded,
    kind: Array.from(folded).length >= 3 ? 'substring' : 'word-prefix',
    digits: /^[\d+()\-. ]+$/.test(term) && digitCount >= 3 ? term.replace(/\D/g, '') : null,
    idPrefix: term.toLowerCase().startsWith('ctc_') ? term.toLowerCase() : null,
  };
}

export function decodeCursor(cursor) {
  const [, key, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  return { key, id };
}
