/**
 * `withAnalytics(handler)`: wraps a Worker's fetch handler so that every request it serves ends with a
 * response event carrying the status the user got, an outcome and the latency, whatever way the handler
 * left: a normal answer, an early 4xx, or a thrown error (recorded as 500, then rethrown unchanged). Two
 * things still leave a query without its response (an orphan, which the report counts): a crash of the
 * isolate itself, and a request the runtime cancels (the client disconnects before the answer), whose handler
 * is never resumed and so never reaches the point where the response event is sent.
 *
 * The handler records the question with `track.query(...)` as soon as it knows it (sent at once, so a
 * crash still leaves the question on record) and adds what it learns with `track.response(...)`. When the
 * handler never recorded a question (a request refused before reading it), the query and the response are
 * sent together in one SendMessageBatch at the end.
 */
import { createAnalytics, type Analytics, type AnalyticsEnv, type AnalyticsOptions, type WaitUntil } from './client';
import type { QueryInput, ResponseInput } from './events';
import { requestMetadata, type RequestLike } from './privacy';

type QueryDetails = Omit<QueryInput, 'requestId' | 'timestamp'>;
type ResponseDetails = Omit<ResponseInput, 'requestId' | 'timestamp'>;

export interface Tracker {
  readonly requestId: string;
  /** Record the question; sent at once. Metadata defaults to the request's user agent, referer and country. */
  query(details: QueryDetails): void;
  /** Add to what the response event will say (match, model, tokens, outcome...). Sent when the handler exits. */
  response(details: ResponseDetails): void;
  /** Record nothing for this request (a health check, a preflight). */
  ignore(): void;
}

export type TrackedHandler<Env, Ctx extends WaitUntil> = (
  request: Request,
  env: Env,
  ctx: Ctx,
  track: Tracker,
) => Response | Promise<Response>;

export interface WithAnalyticsOptions<Env> extends AnalyticsOptions {
  /** The client for this env; defaults to `createAnalytics(env, options)`. */
  analytics?: (env: Env) => Analytics;
  /** The request id events carry; defaults to a random UUID. */
  requestId?: (request: Request) => string;
}

function monotonicNow(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

export function withAnalytics<Env extends AnalyticsEnv, Ctx extends WaitUntil = WaitUntil>(
  handler: TrackedHandler<Env, Ctx>,
  options: WithAnalyticsOptions<Env> = {},
): (request: Request, env: Env, ctx: Ctx) => Promise<Response> {
  const clock = options.now ?? Date.now;
  return async (request, env, ctx) => {
    const started = monotonicNow();
    let analytics: Analytics;
    let requestId: string;
    try {
      analytics = options.analytics ? options.analytics(env) : createAnalytics(env, options);
      requestId = options.requestId?.(request) ?? crypto.randomUUID();
    } catch {
      return handler(request, env, ctx, untracked);
    }
    let base: number;
    try {
      base = clock();
      if (!Number.isFinite(base)) base = Date.now();
    } catch {
      base = Date.now();
    }
    let ignored = false;
    let queried: QueryDetails | null = null;
    let responseDetails: ResponseDetails = {};
    // The handler's calls are guarded one by one: a malformed argument costs its record, never the request.
    const tracker: Tracker = {
      requestId,
      query(details) {
        try {
          if (ignored || queried) return;
          const given: QueryDetails = typeof details === 'string' ? { query: details } : isObject(details) ? details : { query: '' };
          queried = given;
          analytics.query(ctx, {
            ...given,
            metadata: { ...requestMetadata(request as RequestLike), ...(isObject(given.metadata) ? given.metadata : {}) },
            requestId,
            timestamp: base,
          });
        } catch {
          // Recording must never change what the user gets.
        }
      },
      response(details) {
        if (isObject(details)) responseDetails = { ...responseDetails, ...details };
      },
      ignore() {
        ignored = true;
      },
    };

    const finish = (status: number, error?: unknown): void => {
      if (ignored || !analytics.enabled) return;
      try {
        const elapsed = monotonicNow() - started;
        const details = responseDetails;
        const reasoning =
          details.reasoning ?? (error !== undefined ? `error: ${errorName(error)}` : `status ${status}`);
        const response: ResponseInput = {
          sessionId: queried?.sessionId,
          ...details,
          requestId,
          timestamp: base + Math.round(elapsed),
          status,
          outcome: error !== undefined ? 'error' : details.outcome,
          reasoning,
          performance: { ...details.performance, totalTime: details.performance?.totalTime ?? elapsed },
        };
        if (queried) analytics.response(ctx, response);
        else {
          // Refused before the question was read: the query half says so with an empty question.
          const query = { query: '', sessionId: details.sessionId, metadata: requestMetadata(request as RequestLike) };
          analytics.exchange(ctx, { ...query, requestId, timestamp: base }, response);
        }
      } catch {
        // Recording must never change what the user gets.
      }
    };

    let result: Response;
    try {
      result = await handler(request, env, ctx, tracker);
    } catch (error) {
      finish(500, error);
      throw error;
    }
    finish(typeof result?.status === 'number' ? result.status : 500);
    return result;
  };
}

function isObject<T extends object>(value: T | null | undefined | unknown): value is T {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorName(error: unknown): string {
  return (error instanceof Error ? error.name : typeof error).slice(0, 100);
}

/** A tracker that records nothing: for code paths (and baselines) that run the handler without analytics. */
export const untracked: Tracker = {
  requestId: '',
  query: () => undefined,
  response: () => undefined,
  ignore: () => undefined,
};
