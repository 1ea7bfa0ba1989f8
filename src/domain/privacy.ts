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
