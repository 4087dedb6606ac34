/**
 * Drop-in replacement for the Worker's former `src/aws/sqs-logger.ts`: the same exports and call shapes
 * (`initializeSQSLogger(env)`, `sqsLogger.createQueryEvent`, `createResponseEvent`, `sendEvent`), so moving to
 * this client is a one-line import change. Underneath, events go through the new client: SQS JSON protocol,
 * `schemaVersion: 1`, the question scrubbed, `MessageGroupId` = the session (or the request) instead of the
 * single `analytics` group, `MessageDeduplicationId` = `requestId:eventType` instead of
 * `requestId-eventType-timestamp` (which let a retried send be queued twice), one jittered retry, and a
 * timeout. `sendEvent` still resolves in every case, as before.
 */
import { createAnalytics, type Analytics, type AnalyticsEnv } from './client';
import type { QueryMetadata, ResponseMetadata, MatchType, Performance } from './events';

export interface SQSConfig {
  queueUrl?: string;
  /** Accepted for compatibility; the client always talks to SQS directly. */
  lambdaUrl?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface QueryEvent {
  eventType: 'query';
  requestId: string;
  timestamp: number;
  query: string;
  sessionId?: string;
  metadata?: QueryMetadata;
}

export interface ResponseEvent {
  eventType: 'response';
  requestId: string;
  timestamp: number;
  matchType: MatchType;
  matchScore: number;
  reasoning: string;
  vectorMatches?: number;
  sessionId?: string;
  performance?: Performance;
  metadata?: ResponseMetadata;
}

export type AnalyticsEvent = QueryEvent | ResponseEvent;

class SQSLogger {
  #analytics: Analytics | null = null;

  /** Configure from an explicit config, as the former module allowed. */
  initialize(config: SQSConfig): void {
    this.configure({
      AWS_SQS_URL: config.queueUrl,
      AWS_REGION: config.region,
      AWS_ACCESS_KEY_ID: config.accessKeyId,
      AWS_SECRET_ACCESS_KEY: config.secretAccessKey,
    });
  }

  /** Configure from the Worker's env (all of the client's switches apply). */
  configure(env: AnalyticsEnv): boolean {
    const analytics = createAnalytics(env);
    this.#analytics = analytics.enabled ? analytics : null;
    return this.#analytics !== null;
  }

  isInitialized(): boolean {
    return this.#analytics !== null;
  }

  /** Send one event; resolves when delivered or given up, never rejects. Pass it to `ctx.waitUntil`. */
  async sendEvent(event: AnalyticsEvent): Promise<void> {
    const analytics = this.#analytics;
    if (!analytics) return;
    try {
      // As in the client: the work starts after the Worker has returned its response.
      await new Promise((resolve) => setTimeout(resolve, 0));
      // deliver() scrubs and corrects the event with the same builders as the client's own events.
      await analytics.deliver([event]);
    } catch (error) {
      console.warn(`cv-analytics: not sent: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  createQueryEvent(requestId: string, sessionId: string, query: string, metadata?: QueryEvent['metadata']): QueryEvent {
    return { eventType: 'query', requestId, timestamp: Date.now(), sessionId, query, metadata };
  }

  createResponseEvent(
    requestId: string,
    sessionId: string,
    matchType: MatchType,
    matchScore: number,
    reasoning: string,
    performance?: ResponseEvent['performance'],
    vectorMatches?: number,
    metadata?: ResponseEvent['metadata'],
  ): ResponseEvent {
    return {
      eventType: 'response', requestId, timestamp: Date.now(), matchType, matchScore, reasoning,
      vectorMatches, sessionId, performance, metadata,
    };
  }
}

export type { SQSLogger };

export const sqsLogger = new SQSLogger();

/** Configure the shared logger from env; returns whether analytics is on. Safe to call on every request. */
export function initializeSQSLogger(env: AnalyticsEnv): boolean {
  return sqsLogger.configure(env);
}
