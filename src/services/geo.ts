// IP address to country, from the offline database inside the geoip-country package (MaxMind GeoLite2
// data): no network call at run time. Loaded on first use (about 20 MB), so a server that never sees an
// address never pays for it. The address itself is never stored.
import { createRequire } from 'node:module';
import { isIP } from 'node:net';

interface GeoIp {
  lookup(ip: string): { country: string } | null;
}

let geo: GeoIp | null = null;

export function countryOf(ip: string | null | undefined): string | null {
  if (!ip || isIP(ip) === 0) return null;
  geo ??= createRequire(import.meta.url)('geoip-country') as GeoIp;
  const country = geo.lookup(ip)?.country;
  return country && /^[A-Z]{2}$/.test(country) ? country : null;
}
