/** The example Worker's fetch handler, built with the client's options (the tests give it a fake SQS). */
import type { AnalyticsEnv, WaitUntil } from '../client/client';
import { withAnalytics, type TrackedHandler, type WithAnalyticsOptions } from '../client/with-analytics';
import { answer, type ChatbotEnv } from './chatbot';

export type ExampleEnv = AnalyticsEnv & ChatbotEnv;

const chat: TrackedHandler<ExampleEnv, WaitUntil> = async (request, env, _ctx, track) => {
  const response = await answer(request, env, track);
  // Lets a caller (and the tests) find this request's events.
  response.headers.set('x-request-id', track.requestId);
  return response;
};

export function exampleWorker(options: WithAnalyticsOptions<ExampleEnv> = {}) {
  const tracked = withAnalytics<ExampleEnv>(chat, options);

  /**
   * Demo only (with DEMO_ACCEPT_PAST_TIME): a replayed request is dated by its `x-demo-time` header (epoch
   * ms) through the client's ordinary clock option, and keeps the id its replay gave it
   * (`x-demo-request-id`), so a seeded replay spreads over a past week and writes the same records on every
   * run. The vendored client knows neither header.
   */
  function replayed(request: Request, env: ExampleEnv, ctx: WaitUntil): Promise<Response> {
    const demoTime = Number(request.headers.get('x-demo-time'));
    const askedAt = Number.isFinite(demoTime) && demoTime > 0 ? demoTime : Date.now();
    const started = Date.now();
    return withAnalytics<ExampleEnv>(chat, {
      ...options,
      now: () => askedAt + (Date.now() - started),
      requestId: () => request.headers.get('x-demo-request-id') || crypto.randomUUID(),
    })(request, env, ctx);
  }

  return {
    fetch: (request: Request, env: ExampleEnv, ctx: WaitUntil): Promise<Response> =>
      (env.DEMO_ACCEPT_PAST_TIME === 'true' ? replayed : tracked)(request, env, ctx),
  };
}
