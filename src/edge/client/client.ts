/**
 * The analytics client: builds contract events, scrubs them, and ships them to the SQS FIFO queue inside
 * `ctx.waitUntil`, so the user's response is never waiting for it and never broken by it.
 *
 * Configuration comes from the Worker's env. Without a queue URL and a key pair the client is a silent no-op,
 * so a Worker deployed without secrets (a preview, a fork) behaves exactly as without the client.
 */
import {
  buildQueryEvent, buildResponseEvent,
  type AnalyticsEvent, type QueryInput, type ResponseInput,
} from './events';
import { DEFAULT_PRIVACY, type PrivacyOptions } from './privacy';
import { SigV4Signer } from './sigv4';
import { MAX_BATCH, SqsTransport, type OutgoingMessage } from './sqs';
import { capLength } from './storable';

export interface AnalyticsEnv {
  AWS_SQS_URL?: string;
  AWS_REGION?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  /** "false", "0" or "off" switch the client off. */
  ANALYTICS_ENABLED?: Setting;
  /** Share of requests recorded, 0 to 1 (default 1). Both events of one request are kept or dropped together. */
  ANALYTICS_SAMPLE_RATE?: Setting;
  /** Deadline for one delivery, retry included (default 3000). */
  ANALYTICS_TIMEOUT_MS?: Setting;
  /** "false" keeps e-mail addresses, phone numbers and long numbers in questions (default: masked). */
  ANALYTICS_SCRUB_QUERY?: Setting;
  /** Longest question sent, in characters (default 1000). */
  ANALYTICS_MAX_QUERY_LENGTH?: Setting;
}

/**
 * A switch as it reaches the Worker: a secret or `--var` is a string, but a `[vars]` entry written without
 * quotes in wrangler.toml (`ANALYTICS_ENABLED = true`, `ANALYTICS_SAMPLE_RATE = 0.5`) arrives as a boolean or
 * a number.
 */
export type Setting = string | number | boolean;

/** The part of the Workers ExecutionContext the client needs. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

export interface AnalyticsOptions {
  fetch?: typeof fetch;
  /** Clock for event timestamps, epoch milliseconds. */
  now?: () => number;
  random?: () => number;
  /** Where the one line per failed delivery goes (default console.warn). */
  log?: (line: string) => void;
  retryDelayMs?: number;
}

export interface Analytics {
  /** False when configuration is missing or the client is switched off: every call is then a no-op. */
  readonly enabled: boolean;
  /** Whether this request's events are recorded under the sample rate. */
  sampled(requestId: string): boolean;
  /** Schedule a query event; returns at once. */
  query(ctx: WaitUntil, input: QueryInput): void;
  /** Schedule a response event; returns at once. */
  response(ctx: WaitUntil, input: ResponseInput): void;
  /** Schedule both events of a request in one SendMessageBatch; returns at once. */
  exchange(ctx: WaitUntil, query: QueryInput, response: ResponseInput): void;
  /**
   * Deliver events made elsewhere (the compatibility module's), ten per request. Each is rebuilt by the same
   * builders as `query` and `response`, so it is scrubbed and made valid exactly like theirs; anything that is
   * not a query or response event is dropped. Resolves when done; never rejects.
   */
  deliver(events: ReadonlyArray<AnalyticsEvent | EventLike>): Promise<void>;
}

/** An event as a caller may hand it over: its type says which builder it goes through. */
export type EventLike = ({ eventType: 'query' } & QueryInput) | ({ eventType: 'response' } & ResponseInput);

export const LOG_PREFIX = 'cv-analytics:';
const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_RETRY_DELAY_MS = 100;
/** Session ids that name no session: grouping on them would serialise every anonymous user into one group. */
const PLACEHOLDER_SESSIONS = new Set(['', 'anonymous', 'anon', 'unknown', 'null', 'undefined', 'none']);
const SQS_ID = /^[\x21-\x7e]{1,128}$/;

function fnv1a(text: string, seed: number): string {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** SQS group and deduplication ids allow 128 printable ASCII characters; anything else is hashed, stably. */
export function sqsId(text: string): string {
  if (SQS_ID.test(text)) return text;
  return `h-${[0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b].map((seed) => fnv1a(text, seed)).join('')}`;
}

export function messageGroupId(event: AnalyticsEvent): string {
  const session = event.sessionId;
  return sqsId(session && !PLACEHOLDER_SESSIONS.has(session.toLowerCase()) ? session : event.requestId);
}

export function deduplicationId(event: AnalyticsEvent): string {
  return sqsId(`${event.requestId}:${event.eventType}`);
}

export function toMessage(event: AnalyticsEvent): OutgoingMessage {
  return { body: JSON.stringify(event), groupId: messageGroupId(event), deduplicationId: deduplicationId(event) };
}

function isOff(value: Setting | null | undefined): boolean {
  return value !== undefined && value !== null && /^(false|0|off|no)$/i.test(String(value).trim());
}

interface NumberRule {
  name: keyof AnalyticsEnv;
  fallback: number;
  /** What a valid value is, as the log line says it. */
  expected: string;
  valid: (value: number) => boolean;
}

const SAMPLE_RATE: NumberRule = {
  name: 'ANALYTICS_SAMPLE_RATE', fallback: 1, expected: 'a number from 0 to 1', valid: (n) => n >= 0 && n <= 1,
};
const TIMEOUT_MS: NumberRule = {
  name: 'ANALYTICS_TIMEOUT_MS', fallback: DEFAULT_TIMEOUT_MS, expected: 'milliseconds from 1 to 30000',
  valid: (n) => n >= 1 && n <= 30_000,
};
const MAX_QUERY_LENGTH: NumberRule = {
  name: 'ANALYTICS_MAX_QUERY_LENGTH', fallback: DEFAULT_PRIVACY.maxQueryLength,
  expected: 'a whole number of characters from 1 to 100000', valid: (n) => Number.isInteger(n) && n >= 1 && n <= 100_000,
};

/**
 * A numeric switch from env; unset or empty means the default. An invalid one (`abc`, a rate of 2, a cap of
 * -5) is not guessed at: the default is used and the line saying so is logged once per isolate.
 */
function numberSetting(env: AnalyticsEnv, rule: NumberRule, report: (line: string) => void): number {
  const value = env[rule.name] as Setting | null | undefined;
  if (value === undefined || value === null) return rule.fallback;
  const text = String(value).trim();
  if (text === '') return rule.fallback;
  const parsed = typeof value === 'boolean' ? NaN : Number(text);
  if (Number.isFinite(parsed) && rule.valid(parsed)) return parsed;
  report(`${LOG_PREFIX} ${rule.name}=${JSON.stringify(capLength(text, 40))} ignored: it must be ${rule.expected}; using ${rule.fallback}`);
  return rule.fallback;
}

/**
 * An AWS queue URL names its region: `sqs.<region>.amazonaws.com`, the legacy `<region>.queue.amazonaws.com`,
 * and both under `.amazonaws.com.cn` in China. Other endpoints (local ones) need AWS_REGION.
 */
const QUEUE_HOSTS = [
  /^sqs(?:-fips)?[.-]([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/,
  /^sqs(?:-fips)?\.([a-z0-9-]+)\.api\.aws$/,
  /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/,
];

export function regionOf(env: Pick<AnalyticsEnv, 'AWS_REGION'>, queueUrl: string): string {
  if (env.AWS_REGION) return env.AWS_REGION;
  const hostname = new URL(queueUrl).hostname.toLowerCase();
  for (const pattern of QUEUE_HOSTS) {
    const match = pattern.exec(hostname);
    if (match) return match[1]!;
  }
  return 'us-east-1';
}

/** Signers live as long as the isolate, so the signing key derived for today serves every request. */
const signers = new Map<string, SigV4Signer>();

function signerFor(accessKeyId: string, secretAccessKey: string, sessionToken: string | undefined, region: string): SigV4Signer {
  const key = `${accessKeyId}\n${secretAccessKey}\n${sessionToken ?? ''}\n${region}`;
  let signer = signers.get(key);
  if (!signer) {
    if (signers.size >= 8) signers.clear();
    signer = new SigV4Signer({ accessKeyId, secretAccessKey, sessionToken }, region, 'sqs');
    signers.set(key, signer);
  }
  return signer;
}

const disabled: Analytics = {
  enabled: false,
  sampled: () => false,
  query: () => undefined,
  response: () => undefined,
  exchange: () => undefined,
  deliver: async () => undefined,
};

/** Configuration errors already reported: a Worker creates the client per request, the log says it once. */
const reportedConfigErrors = new Set<string>();

function reportOnce(options: AnalyticsOptions): (line: string) => void {
  return (line) => {
    if (reportedConfigErrors.has(line)) return;
    reportedConfigErrors.add(line);
    (options.log ?? console.warn)(line);
  };
}

export function createAnalytics(env: AnalyticsEnv | undefined, options: AnalyticsOptions = {}): Analytics {
  try {
    return build(env ?? {}, options);
  } catch (error) {
    reportOnce(options)(`${LOG_PREFIX} disabled: ${error instanceof Error ? error.message : String(error)}`);
    return disabled;
  }
}

function build(env: AnalyticsEnv, options: AnalyticsOptions): Analytics {
  const { AWS_SQS_URL: queueUrl, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!queueUrl || !accessKeyId || !secretAccessKey || isOff(env.ANALYTICS_ENABLED)) return disabled;
  const region = regionOf(env, queueUrl);
  const log = options.log ?? ((line: string) => console.warn(line));
  const now = options.now ?? Date.now;
  const report = reportOnce(options);
  const sampleRate = numberSetting(env, SAMPLE_RATE, report);
  const privacy = privacyFromEnv(env, report);
  const transport = new SqsTransport({
    queueUrl,
    region,
    credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN },
    timeoutMs: numberSetting(env, TIMEOUT_MS, report),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    random: options.random ?? Math.random,
    retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    signer: signerFor(accessKeyId, secretAccessKey, env.AWS_SESSION_TOKEN, region),
  });

  const sampled = (requestId: string): boolean =>
    sampleRate >= 1 || (sampleRate > 0 && parseInt(fnv1a(String(requestId), 0x811c9dc5), 16) / 0x1_0000_0000 < sampleRate);

  async function send(events: AnalyticsEvent[]): Promise<void> {
    try {
      for (let start = 0; start < events.length; start += MAX_BATCH) {
        const chunk = events.slice(start, start + MAX_BATCH);
        const result = await transport.send(chunk.map(toMessage));
        if (!result.ok) {
          const what = chunk.map((event) => `${event.eventType} ${event.requestId}`).join(', ');
          log(`${LOG_PREFIX} not sent (${what}): ${result.reason}`);
        }
      }
    } catch (error) {
      log(`${LOG_PREFIX} not sent: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Everything past reading the clock (building, scrubbing, signing, sending) waits for the next turn of the
   * event loop, so it runs after the Worker has handed its response back rather than in front of it. A
   * caller's odd input is caught there too and can never throw into the handler.
   */
  function schedule(ctx: WaitUntil, make: (at: number) => AnalyticsEvent[]): void {
    try {
      const at = now();
      const later = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(async () => {
        try {
          const events = make(at).filter((event) => sampled(event.requestId));
          if (events.length > 0) await send(events);
        } catch (error) {
          log(`${LOG_PREFIX} not recorded: ${error instanceof Error ? error.message : String(error)}`);
        }
      });
      ctx.waitUntil(later);
    } catch (error) {
      log(`${LOG_PREFIX} not recorded: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Through the builders again: a ready-made event gets the same scrubbing and corrections as a new one. */
  function rebuild(event: AnalyticsEvent | EventLike, at: number): AnalyticsEvent | undefined {
    if (event?.eventType === 'query') return buildQueryEvent(event, at, privacy);
    if (event?.eventType === 'response') return buildResponseEvent(event, at);
    return undefined;
  }

  async function deliver(events: ReadonlyArray<AnalyticsEvent | EventLike>): Promise<void> {
    try {
      const at = now();
      const built = [...events]
        .map((event) => rebuild(event, at))
        .filter((event): event is AnalyticsEvent => event !== undefined && sampled(event.requestId));
      if (built.length > 0) await send(built);
    } catch (error) {
      log(`${LOG_PREFIX} not recorded: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  return {
    enabled: true,
    sampled,
    query: (ctx, input) => schedule(ctx, (at) => [buildQueryEvent(input, at, privacy)]),
    response: (ctx, input) => schedule(ctx, (at) => [buildResponseEvent(input, at)]),
    exchange: (ctx, query, response) =>
      schedule(ctx, (at) => [buildQueryEvent(query, at, privacy), buildResponseEvent(response, at)]),
    deliver,
  };
}

/** The question's scrubbing and length cap, as configured in env (an invalid cap is reported, see above). */
export function privacyFromEnv(env: AnalyticsEnv, report: (line: string) => void = () => undefined): PrivacyOptions {
  return {
    scrubQuery: !isOff(env.ANALYTICS_SCRUB_QUERY),
    maxQueryLength: numberSetting(env, MAX_QUERY_LENGTH, report),
  };
}
