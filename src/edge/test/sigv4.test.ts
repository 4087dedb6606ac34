/**
 * The TypeScript signer against botocore's SigV4Auth: random requests (paths with unicode and dot segments,
 * query strings, unicode bodies, dates across days and years, regions, services, header sets, session tokens), signed by
 * both, must carry byte-identical Authorization headers. One signer per credential/region/service serves
 * many dates in random order, so the per-day key cache is exercised across day changes too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SigV4Signer, amzDate } from '../client/sigv4';
import { pythonSync, seeded } from './support';

const CASES = 300;
const random = seeded(20261126);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const REGIONS = ['eu-west-2', 'us-east-1', 'ap-southeast-2', 'sa-east-1', 'eu-central-1', 'cn-north-1'];
const SERVICES = ['sqs', 's3-control', 'dynamodb', 'execute-api', 'sns', 'lambda'];
const CHARS = ['a', 'Z', '0', '-', '_', '.', '~', ' ', 'é', 'ß', '中', '文', '😀', '/', '+', '=', '&', '%', "'", '(', '*', '!', '"', '\n', '\t', 'Ω'];

function randomText(max: number): string {
  let out = '';
  const length = Math.floor(random() * max);
  for (let i = 0; i < length; i += 1) out += pick(CHARS);
  return out;
}

/** RFC 3986 encoding, as an SDK puts a path segment or query value on the wire. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function randomPath(): string {
  const segments = Array.from({ length: Math.floor(random() * 5) }, () =>
    pick(['.', '..', '', 'queue', '123456789012', rfc3986(randomText(8)), rfc3986(randomText(3))]),
  );
  return `/${segments.join('/')}${random() < 0.3 ? '/' : ''}`;
}

function randomQuery(): string {
  if (random() < 0.5) return '';
  const pairs = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
    `${rfc3986(pick(['Action', 'Version', 'b', 'a', 'x-id', randomText(4) || 'k']))}=${rfc3986(randomText(6))}`,
  );
  return `?${pairs.join('&')}`;
}

/** A few days that many requests share, so the per-day key is reused as well as derived. */
const BUSY_DAYS = [Date.UTC(2026, 10, 26), Date.UTC(2026, 10, 27), Date.UTC(2024, 1, 29), Date.UTC(2030, 0, 1)];

function randomDate(): Date {
  const start = Date.UTC(2015, 0, 1);
  const end = Date.UTC(2035, 11, 31);
  const millis = random() < 0.6 ? pick(BUSY_DAYS) + random() * 86_400_000 : start + random() * (end - start);
  // Whole seconds: a signature carries no milliseconds.
  return new Date(Math.floor(millis / 1000) * 1000);
}

const utcDay = (date: Date): string => date.toISOString().slice(0, 10);

function randomHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  if (random() < 0.8) headers['Content-Type'] = pick(['application/x-amz-json-1.0', 'application/x-www-form-urlencoded; charset=utf-8', 'application/json']);
  if (random() < 0.6) headers['X-Amz-Target'] = pick(['AmazonSQS.SendMessage', 'AmazonSQS.SendMessageBatch', 'DynamoDB_20120810.PutItem']);
  if (random() < 0.3) headers['X-Custom-Header'] = `  spaced   value ${Math.floor(random() * 100)}  `;
  if (random() < 0.2) headers['User-Agent'] = 'cv-analytics-edge/1.0';
  return headers;
}

interface Case {
  signer: number;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  date: Date;
}

test(`the signer matches botocore's SigV4Auth on ${CASES} random requests`, async () => {
  const signers = Array.from({ length: 12 }, (_, index) => ({
    accessKeyId: `AKIA${String(index).padStart(16, '0')}`,
    secretAccessKey: `${randomText(20)}secret/${index}+key`.replace(/\s/g, 'x'),
    ...(index % 3 === 0 ? { sessionToken: `FwoGZXIvYXdzE${index}//token+/=` } : {}),
    region: pick(REGIONS),
    service: pick(SERVICES),
  }));
  const instances = signers.map((s) => new SigV4Signer({ accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken }, s.region, s.service));
  const cases: Case[] = Array.from({ length: CASES }, () => {
    const signer = Math.floor(random() * signers.length);
    const host = pick(['sqs.eu-west-2.amazonaws.com', '127.0.0.1:4566', 'example.com', 'EXAMPLE.amazonaws.com:443']);
    const scheme = host.endsWith(':443') || random() < 0.7 ? 'https' : 'http';
    return {
      signer,
      method: pick(['POST', 'GET', 'PUT', 'DELETE']),
      url: `${scheme}://${host}${randomPath()}${randomQuery()}`,
      headers: randomHeaders(),
      body: random() < 0.2 ? '' : JSON.stringify({ MessageBody: randomText(200), n: random() }),
      date: randomDate(),
    };
  });

  // Each signer signs its requests in date order (the cases themselves stay in random order): the key is then
  // derived exactly once per day a signer sees, and a reuse or a missed day change shows in the count.
  const ours: string[] = new Array(CASES);
  const order = cases.map((_, i) => i).sort((a, b) => cases[a]!.signer - cases[b]!.signer || cases[a]!.date.getTime() - cases[b]!.date.getTime());
  for (const index of order) {
    const item = cases[index]!;
    const headers = await instances[item.signer]!.sign(
      { method: item.method, url: item.url, headers: item.headers, body: item.body },
      item.date,
    );
    ours[index] = headers['authorization']!;
  }
  const theirs: string[] = pythonSync(
    ['tests/edge/sigv4_botocore.py'],
    cases.map((item) => ({
      method: item.method,
      url: item.url,
      headers: item.headers,
      body: item.body,
      amzDate: amzDate(item.date),
      ...signers[item.signer],
    })),
  );
  assert.equal(theirs.length, CASES);
  // Paired before filtering, so the report shows each mismatching request with its own two signatures.
  const mismatches = cases.map((item, i) => ({ item, ours: ours[i], theirs: theirs[i] })).filter((pair) => pair.ours !== pair.theirs);
  assert.deepEqual(mismatches.slice(0, 3), [], `${mismatches.length} of ${CASES} signatures differ`);
  // One derivation per (credentials, region, service) signer and UTC day it signed for: never per request, never
  // a stale key across a day change.
  const daysUsed = instances.map((_, signer) => new Set(cases.filter((item) => item.signer === signer).map((item) => utcDay(item.date))).size);
  assert.deepEqual(instances.map((signer) => signer.derivations), daysUsed);
  assert.ok(daysUsed.reduce((a, b) => a + b, 0) < CASES, 'no request shared a day: the cache was never reused');
});

test('the signing key is derived once per day and again when the day changes', async () => {
  const signer = new SigV4Signer({ accessKeyId: 'AKID', secretAccessKey: 'secret' }, 'eu-west-2', 'sqs');
  const request = { method: 'POST', url: 'https://sqs.eu-west-2.amazonaws.com/', headers: {}, body: '{}' };
  for (let second = 0; second < 50; second += 1) await signer.sign(request, new Date(Date.UTC(2026, 10, 26, 23, 59, 10 + second)));
  assert.equal(signer.derivations, 1);
  await signer.sign(request, new Date(Date.UTC(2026, 10, 27, 0, 0, 1)));
  assert.equal(signer.derivations, 2);
});
