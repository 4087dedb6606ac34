/**
 * What leaves the Worker about a recruiter: the question with contact details and long numbers masked and its
 * length capped, the user agent, the referring page without its query string, and the country from
 * `request.cf`. Never cookies, authorization headers or IP addresses, even when a caller passes them in
 * metadata by mistake.
 */
import { capLength, storableNumber, wellFormed } from './storable';

export interface PrivacyOptions {
  /** Mask e-mail addresses, phone numbers and long digit runs in the question (default true). */
  scrubQuery: boolean;
  /** Longest question kept, in characters (default 1,000). */
  maxQueryLength: number;
}

export const DEFAULT_PRIVACY: PrivacyOptions = { scrubQuery: true, maxQueryLength: 1000 };

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;
// A run of digits (in any script) with the separators phone numbers are written with; a phone from 7 digits on
// ("555-1234", "9123 4567"), so that "5 years", "2019" or "Python 3.12" stay readable.
const PHONE_LIKE = /\+?\(?\p{Nd}[\p{Nd}\s().\-/]{5,}\p{Nd}/gu;
const PHONE_MIN_DIGITS = 7;
const DIGIT = /\p{Nd}/gu;
/** Years and year ranges ("2019-2023", "2019 2020") and dates ("2024-05-01", "01/05/2024") are not phones. */
const NOT_A_PHONE = [
  /^(?:19|20)\d{2}(?:\s*[-/\u2013]\s*(?:19|20)\d{2}|\s+(?:19|20)\d{2})*$/,
  /^(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}$/,
  /^\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)?\d{2}$/,
];
const LONG_DIGITS = /\p{Nd}{7,}/gu;

function maskPhone(match: string): string {
  // A bare run of digits is a number (an id, a card) rather than a phone: LONG_DIGITS masks it as one.
  if (/^\p{Nd}+$/u.test(match)) return match;
  if ((match.match(DIGIT)?.length ?? 0) < PHONE_MIN_DIGITS) return match;
  const trimmed = match.trim();
  return NOT_A_PHONE.some((pattern) => pattern.test(trimmed)) ? match : '[phone]';
}

export function scrubText(text: string): string {
  return text.replace(EMAIL, '[email]').replace(PHONE_LIKE, maskPhone).replace(LONG_DIGITS, '[number]');
}

export function protectQuery(text: string, options: PrivacyOptions = DEFAULT_PRIVACY): string {
  const value = typeof text === 'string' ? text : String(text ?? '');
  // Cap first so the scrubbing regexes never run over an attacker-sized input, then again after masking.
  const limit = Math.max(options.maxQueryLength * 2, 64);
  let capped = capLength(value, limit);
  // The first cut may split an address or a phone number; what is left of it no longer looks like one to the
  // scrubbing and could slide back under the final cap once earlier matches are masked, so it goes: the cut
  // token (its last 320 characters when it is longer: no address is), then any digits and separators before it.
  if (capped.length < value.length) {
    if (!/\s/u.test(value.charAt(capped.length))) capped = capped.replace(/\S{1,320}$/u, '');
    capped = capped.replace(/[\p{Nd}\s().\-/+]+$/u, '');
  }
  return wellFormed(capLength(options.scrubQuery ? scrubText(capped) : capped, options.maxQueryLength));
}

/**
 * Metadata keys that could carry credentials or identify a person's network, dropped wherever they appear:
 * matched on the key lower-cased without separators (`x-api-key` -> `xapikey`) and on its words
 * (`sourceIp` -> source, ip; `cf-pseudo-ipv4` -> cf, pseudo, ipv4).
 */
const FORBIDDEN_PARTS = ['cookie', 'auth', 'token', 'secret', 'passw', 'credential', 'forwarded', 'apikey',
  'accesskey', 'privatekey', 'signature', 'ipaddr', 'remoteaddr', 'macaddr'];
const FORBIDDEN_WORDS = new Set(['ip', 'ips', 'ipv4', 'ipv6', 'xip', 'addr', 'address', 'addresses', 'key', 'keys',
  'jwt', 'bearer']);

function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

export function isForbiddenKey(key: string): boolean {
  const flat = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (FORBIDDEN_PARTS.some((part) => flat.includes(part))) return true;
  return FORBIDDEN_WORDS.has(flat) || keyWords(key).some((word) => FORBIDDEN_WORDS.has(word));
}

const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])/;
const IPV6 = /^\[?(?=[0-9a-f:.]*:[0-9a-f:.]*:)[0-9a-f:.]+(?:%[\w.-]+)?\]?(?::\d{1,5})?$/i;

/** A string holding an IPv4 address anywhere, or that is an IPv6 address ("::" or eight groups). */
export function looksLikeIpAddress(value: string): boolean {
  if (IPV4.test(value)) return true;
  const text = value.trim();
  return IPV6.test(text) && (text.includes('::') || text.replace(/[^:]/g, '').length >= 7);
}

const MAX_DEPTH = 4;

function cleanValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return looksLikeIpAddress(value) ? undefined : wellFormed(value);
  // Only what JSON carries and DynamoDB stores: a bigint would make the whole event unsendable, 1e400 or
  // 1e200 would have the processor refuse it, a function or symbol is no data.
  if (typeof value === 'number') return storableNumber(value) ? value : undefined;
  if (value === null || typeof value !== 'object') return typeof value === 'boolean' || value === null ? value : undefined;
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((item) => cleanValue(item, depth + 1)).filter((item) => item !== undefined);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (isForbiddenKey(key)) continue;
    const cleaned = cleanValue(item, depth + 1);
    if (cleaned !== undefined) out[wellFormed(key)] = cleaned;
  }
  return out;
}

/**
 * A copy of caller-provided metadata without forbidden keys, at any depth (a caller may pass a `headers`
 * object), and without strings that hold an IP address. Nesting beyond a few levels is dropped.
 */
export function cleanMetadata<T extends Record<string, unknown>>(metadata: T | undefined): T | undefined {
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) return undefined;
  return cleanValue(metadata, 0) as T;
}

export const MAX_USER_AGENT = 512;
export const MAX_REFERER = 1024;

/** The referring page without query string or fragment (which often carry tokens), capped; nothing when unreadable. */
export function safeReferer(referer: string | null | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    const url = new URL(referer);
    return capLength(url.origin === 'null' ? `${url.protocol}${url.pathname}` : `${url.origin}${url.pathname}`, MAX_REFERER);
  } catch {
    return undefined;
  }
}

export interface RequestLike {
  headers: { get(name: string): string | null };
  cf?: unknown;
}

/** The query metadata the client takes from a request: user agent, referer, country. Nothing else. */
export function requestMetadata(request: RequestLike): { userAgent?: string; referer?: string; country?: string } {
  const out: { userAgent?: string; referer?: string; country?: string } = {};
  const userAgent = request.headers.get('user-agent');
  if (userAgent) out.userAgent = wellFormed(capLength(userAgent, MAX_USER_AGENT));
  const referer = safeReferer(request.headers.get('referer'));
  if (referer) out.referer = referer;
  const cf = request.cf as { country?: unknown } | undefined;
  if (cf && typeof cf.country === 'string' && cf.country) out.country = wellFormed(cf.country);
  return out;
}
