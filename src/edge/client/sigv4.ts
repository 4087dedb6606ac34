/**
 * AWS Signature Version 4 over WebCrypto, for runtimes without Node's crypto (workerd, browsers, Deno).
 *
 * The derived signing key (four chained HMACs from the secret) depends only on the day, region and service,
 * so it is derived once per UTC day and kept as an imported CryptoKey: a signature then costs one SHA-256 of
 * the body, one of the canonical request and one HMAC. Canonicalisation follows botocore's SigV4Auth (the
 * reference the tests compare against): dot segments and empty segments removed from the path, the path
 * percent-encoded again, the query string taken as already encoded and sorted, header values trimmed.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignableRequest {
  method: string;
  /** Absolute URL; its path and query must already be percent-encoded, as on the wire. */
  url: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** Headers never signed: hop-by-hop or rewritten by proxies (the same list as botocore). */
const UNSIGNED_HEADERS = new Set([
  'authorization', 'baggage', 'connection', 'expect', 'keep-alive', 'proxy-authenticate',
  'proxy-authorization', 'te', 'traceparent', 'tracestate', 'trailer', 'transfer-encoding', 'upgrade',
  'user-agent', 'x-amzn-trace-id',
]);

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function toHex(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let out = '';
  for (let i = 0; i < bytes.length; i += 1) out += HEX[bytes[i]!];
  return out;
}

function utf8(value: string | Uint8Array): BufferSource {
  return typeof value === 'string' ? encoder.encode(value) : (value as BufferSource);
}

async function sha256Hex(value: string | Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', utf8(value)));
}

async function hmacKey(raw: BufferSource): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

async function hmac(key: BufferSource, data: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign('HMAC', await hmacKey(key), encoder.encode(data));
}

/** `YYYYMMDDTHHMMSSZ` for a Date. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

const UNRESERVED = /[A-Za-z0-9_.~\-/]/;

/** Percent-encode like Python's `urllib.parse.quote(path, safe='/~')`: UTF-8 bytes, upper-case hex. */
function quotePath(path: string): string {
  let out = '';
  for (const char of path) {
    if (UNRESERVED.test(char)) {
      out += char;
    } else {
      for (const byte of encoder.encode(char)) out += `%${HEX[byte]!.toUpperCase()}`;
    }
  }
  return out;
}

/** RFC 3986 section 5.2.4 plus AWS's removal of empty segments. */
function removeDotSegments(path: string): string {
  if (!path) return '/';
  const output: string[] = [];
  for (const segment of path.split('/')) {
    if (!segment || segment === '.') continue;
    if (segment === '..') output.pop();
    else output.push(segment);
  }
  const first = path.startsWith('/') ? '/' : '';
  const last = path.endsWith('/') && output.length > 0 ? '/' : '';
  return first + output.join('/') + last;
}

interface UrlParts {
  host: string;
  path: string;
  query: string;
}

/** Split a URL without normalising it (WHATWG URL would re-encode the path differently from botocore). */
function splitUrl(url: string): UrlParts {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/.exec(url);
  if (!match) throw new TypeError('not an absolute URL');
  const scheme = match[1]!.toLowerCase();
  const authority = match[2]!.replace(/^.*@/, '').toLowerCase();
  const defaultPort = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : '';
  const host = defaultPort && authority.endsWith(defaultPort) ? authority.slice(0, -defaultPort.length) : authority;
  return { host, path: match[3] ?? '', query: match[4] ?? '' };
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query.split('&').map((pair): [string, string] => {
    const at = pair.indexOf('=');
    return at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

function trimAll(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

export class SigV4Signer {
  readonly #credentials: Credentials;
  readonly #region: string;
  readonly #service: string;
  #keyDay = '';
  #key: Promise<CryptoKey> | null = null;
  /** How many times the signing key was derived: once per UTC day in a long-lived isolate. */
  derivations = 0;

  constructor(credentials: Credentials, region: string, service: string) {
    this.#credentials = credentials;
    this.#region = region;
    this.#service = service;
  }

  #signingKey(day: string): Promise<CryptoKey> {
    if (this.#key && this.#keyDay === day) return this.#key;
    this.derivations += 1;
    this.#keyDay = day;
    const derive = async (): Promise<CryptoKey> => {
      const kDate = await hmac(encoder.encode(`AWS4${this.#credentials.secretAccessKey}`), day);
      const kRegion = await hmac(kDate, this.#region);
      const kService = await hmac(kRegion, this.#service);
      return hmacKey(await hmac(kService, 'aws4_request'));
    };
    const key = derive();
    // A failed derivation must not poison the cache for the rest of the day.
    key.catch(() => {
      if (this.#key === key) this.#key = null;
    });
    this.#key = key;
    return key;
  }

  /**
   * Headers to send with the request: the given ones plus `host`, `x-amz-date`, the session token when there
   * is one, and `authorization`. Every given header is signed.
   */
  async sign(request: SignableRequest, now: Date = new Date()): Promise<Record<string, string>> {
    const { host, path, query } = splitUrl(request.url);
    const timestamp = amzDate(now);
    const day = timestamp.slice(0, 8);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    delete headers['authorization'];
    headers['x-amz-date'] = timestamp;
    if (this.#credentials.sessionToken) headers['x-amz-security-token'] = this.#credentials.sessionToken;
    if (!('host' in headers)) headers['host'] = host;

    const names = Object.keys(headers).filter((name) => !UNSIGNED_HEADERS.has(name)).sort();
    const canonicalHeaders = names.map((name) => `${name}:${trimAll(headers[name]!)}\n`).join('');
    const signedHeaders = names.join(';');
    const canonicalRequest = [
      request.method.toUpperCase(),
      quotePath(removeDotSegments(path)),
      canonicalQuery(query),
      canonicalHeaders,
      signedHeaders,
      await sha256Hex(request.body),
    ].join('\n');
    const scope = `${day}/${this.#region}/${this.#service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${timestamp}\n${scope}\n${await sha256Hex(canonicalRequest)}`;
    const signature = toHex(await crypto.subtle.sign('HMAC', await this.#signingKey(day), encoder.encode(stringToSign)));
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${this.#credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }
}
