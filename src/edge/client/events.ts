/**
 * The events the client sends, shaped to the contract in src/contract/schema/event.schema.json.
 *
 * Whatever a caller passes, the builders emit a valid event: a value the contract would refuse (a score of
 * 140, a negative token count, NaN or 1e400, an outcome in capitals, a timestamp in seconds, a lone
 * surrogate) is corrected or dropped here, because an invalid event is quarantined by the processor and lost
 * for the report.
 */
import { cleanMetadata, protectQuery, safeReferer, type PrivacyOptions, DEFAULT_PRIVACY, MAX_USER_AGENT } from './privacy';
import { capLength, storableNumber, wellFormed } from './storable';

export const SCHEMA_VERSION = 1;

export type MatchType = 'full' | 'partial' | 'none';

/** Known outcomes; any other lower-case word up to 32 characters is accepted by the contract too. */
export type Outcome =
  | 'answered' | 'no_results' | 'rejected' | 'unauthorized' | 'rate_limited' | 'out_of_hours' | 'not_found'
  | 'error' | (string & {});

export interface Performance {
  totalTime?: number;
  llmTime?: number;
  retrievalTime?: number;
  cacheHit?: boolean;
}

export interface Tokens {
  input?: number;
  output?: number;
}

export interface QueryMetadata {
  userAgent?: string;
  referer?: string;
  country?: string;
  [key: string]: unknown;
}

export interface ResponseMetadata {
  matchQuality?: number;
  sourcesUsed?: string[];
  [key: string]: unknown;
}

interface Common {
  requestId: string;
  sessionId?: string;
  /** Epoch milliseconds; defaults to the client's clock. */
  timestamp?: number;
}

export interface QueryInput extends Common {
  query: string;
  metadata?: QueryMetadata;
}

export interface ResponseInput extends Common {
  matchType?: MatchType;
  matchScore?: number;
  reasoning?: string;
  vectorMatches?: number;
  performance?: Performance;
  metadata?: ResponseMetadata;
  /** HTTP status the user got. */
  status?: number;
  outcome?: Outcome;
  model?: string;
  tokens?: Tokens;
}

export interface QueryEvent extends QueryInput {
  eventType: 'query';
  schemaVersion: number;
  timestamp: number;
}

export interface ResponseEvent extends ResponseInput {
  eventType: 'response';
  schemaVersion: number;
  timestamp: number;
  matchType: MatchType;
  matchScore: number;
  reasoning: string;
}

export type AnalyticsEvent = QueryEvent | ResponseEvent;

const MIN_EPOCH_MS = 1_000_000_000_000;
const MAX_EPOCH_MS = 9_999_999_999_999;
const MAX_ID = 256;
/** Below this a number is taken for seconds since the epoch (1e11 ms is 1973; 1e11 s is year 5138). */
const SECONDS_LIMIT = 100_000_000_000;

function finite(value: unknown): value is number {
  return storableNumber(value);
}

function text(value: string, max: number): string {
  return wellFormed(capLength(value, max));
}

function identifier(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const cut = text(String(value), MAX_ID);
  return cut.length > 0 ? cut : undefined;
}

function epochMillis(value: unknown, now: number): number {
  if (!finite(value)) return Math.round(now);
  // A timestamp in seconds (the usual mistake) is converted rather than rejected.
  const millis = Math.round(value < SECONDS_LIMIT ? value * 1000 : value);
  return millis >= MIN_EPOCH_MS && millis <= MAX_EPOCH_MS ? millis : Math.round(now);
}

function count(value: unknown): number | undefined {
  return finite(value) && value >= 0 ? Math.round(value) : undefined;
}

function duration(value: unknown): number | undefined {
  return finite(value) && value >= 0 ? value : undefined;
}

function compact<T extends object>(value: T): T | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = item;
  return Object.keys(out).length > 0 ? (out as T) : undefined;
}

export function normaliseOutcome(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const word = value.trim().toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z]+/, '').slice(0, 32);
  return /^[a-z][a-z0-9_]{0,31}$/.test(word) ? word : undefined;
}

/** The outcome a status implies when the handler did not say. */
export function outcomeForStatus(status: number): Outcome {
  if (status >= 500) return 'error';
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status >= 400) return 'rejected';
  return 'answered';
}

/**
 * Whoever filled it in (the request, or a caller such as the former Worker through `createQueryEvent`), the
 * metadata leaves with the referer stripped of its query string and fragment and the user agent capped.
 */
function queryMetadata(metadata: QueryMetadata | undefined): QueryMetadata | undefined {
  const cleaned = cleanMetadata(metadata);
  if (!cleaned) return undefined;
  for (const key of ['userAgent', 'referer', 'country'] as const) {
    if (cleaned[key] !== undefined && typeof cleaned[key] !== 'string') delete cleaned[key];
  }
  if (cleaned.referer !== undefined) cleaned.referer = safeReferer(cleaned.referer);
  if (cleaned.userAgent !== undefined) cleaned.userAgent = text(cleaned.userAgent, MAX_USER_AGENT) || undefined;
  return compact(cleaned);
}

function responseMetadata(metadata: ResponseMetadata | undefined): ResponseMetadata | undefined {
  const cleaned = cleanMetadata(metadata);
  if (!cleaned) return undefined;
  if (cleaned.matchQuality !== undefined && !finite(cleaned.matchQuality)) delete cleaned.matchQuality;
  if (cleaned.sourcesUsed !== undefined) {
    cleaned.sourcesUsed = Array.isArray(cleaned.sourcesUsed)
      ? cleaned.sourcesUsed.filter((item): item is string => typeof item === 'string')
      : undefined;
  }
  return compact(cleaned);
}

function common(input: Common, now: number): { requestId: string; sessionId?: string; timestamp: number } {
  const requestId = identifier(input.requestId) ?? crypto.randomUUID();
  const sessionId = identifier(input.sessionId);
  return { requestId, ...(sessionId ? { sessionId } : {}), timestamp: epochMillis(input.timestamp, now) };
}

export function buildQueryEvent(input: QueryInput, now: number, privacy: PrivacyOptions = DEFAULT_PRIVACY): QueryEvent {
  const metadata = queryMetadata(input.metadata);
  return {
    eventType: 'query',
    schemaVersion: SCHEMA_VERSION,
    ...common(input, now),
    query: protectQuery(input.query, privacy),
    ...(metadata ? { metadata } : {}),
  };
}

const MATCH_TYPES = new Set<string>(['full', 'partial', 'none']);

export function buildResponseEvent(input: ResponseInput, now: number): ResponseEvent {
  const status = finite(input.status) && input.status >= 100 && input.status <= 599 ? Math.round(input.status) : undefined;
  const outcome = normaliseOutcome(input.outcome) ?? (status !== undefined ? outcomeForStatus(status) : undefined);
  const score = finite(input.matchScore) ? Math.min(100, Math.max(0, input.matchScore)) : 0;  // 1e-200 is 0
  const performance = input.performance
    ? compact({
        totalTime: duration(input.performance.totalTime),
        llmTime: duration(input.performance.llmTime),
        retrievalTime: duration(input.performance.retrievalTime),
        cacheHit: typeof input.performance.cacheHit === 'boolean' ? input.performance.cacheHit : undefined,
      })
    : undefined;
  const tokens = input.tokens ? compact({ input: count(input.tokens.input), output: count(input.tokens.output) }) : undefined;
  const model = typeof input.model === 'string' && input.model.length > 0 ? text(input.model, 200) : undefined;
  const metadata = responseMetadata(input.metadata);
  const vectorMatches = count(input.vectorMatches);
  const event: ResponseEvent = {
    eventType: 'response',
    schemaVersion: SCHEMA_VERSION,
    ...common(input, now),
    matchType: MATCH_TYPES.has(input.matchType as string) ? (input.matchType as MatchType) : 'none',
    matchScore: score,
    reasoning: typeof input.reasoning === 'string' ? wellFormed(input.reasoning) : outcome ? `outcome: ${outcome}` : '',
  };
  if (vectorMatches !== undefined) event.vectorMatches = vectorMatches;
  if (status !== undefined) event.status = status;
  if (outcome !== undefined) event.outcome = outcome;
  if (model !== undefined) event.model = model;
  if (tokens) event.tokens = tokens;
  if (performance) event.performance = performance;
  if (metadata) event.metadata = metadata;
  return event;
}
