import { createHash } from 'node:crypto';
// Where privacy law asks more: visitors from the EU, the EEA, the UK and Switzerland have their country
// kept only with their consent.
export const GDPR_COUNTRIES = new Set([
  // EU
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL',
  'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
  // EEA beyond the EU, the UK, Switzerland
  'IS', 'LI', 'NO', 'GB', 'CH',
]);

/** The country a contact may keep: outside GDPR countries always, inside only with consent. */
export function keptCountry(country: string | null, consentGiven: boolean): string | null {
  if (country === null) return null;
  return GDPR_COUNTRIES.has(country) && !consentGiven ? null : country;
}

/**
 * What an erased person leaves behind: hashes of their normalised email and phone, scoped to the
 * workspace, so that a later import or batch recognises them without anyone reading who they were.
 */
export function identityHashes(workspaceId: string, who: { email_lower: string | null; phone: string | null }): string[] {
  const out: string[] = [];
  if (who.email_lower) out.push(sha256(`${workspaceId}\u0000email\u0000${who.email_lower}`));
  if (who.phone) out.push(sha256(`${workspaceId}\u0000phone\u0000${who.phone}`));
  return out;
}

/** Why a batch item or import row of an erased person is skipped. */
export const SUPPRESSED_REASON = 'skipped: this person asked to be erased (GDPR); their email or phone is suppressed, so they are not re-created';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
