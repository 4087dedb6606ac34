/** The example Worker: the chatbot wrapped by the analytics client. */
import type { AnalyticsEnv, WaitUntil } from '../client/client';
import { withAnalytics, type TrackedHandler } from '../client/with-analytics';
import { answer, type ChatbotEnv } from './chatbot';

type Env = AnalyticsEnv & ChatbotEnv;

const chat: TrackedHandler<Env, WaitUntil> = async (request, env, _ctx, track) => {
  const response = await answer(request, env, track);
  // Lets a caller (and the tests) find this request's events.
  response.headers.set('x-request-id', track.requestId);
  return response;
};

const tracked = withAnalytics<Env>(chat);
// Demo only (with DEMO_ACCEPT_PAST_TIME): a replayed request keeps the id its replay gave it, so a seeded
// replay writes the same records on every run.
const replayed = withAnalytics<Env>(chat, {
  requestId: (request) => request.headers.get('x-demo-request-id') || crypto.randomUUID(),
});

export default {
  fetch: (request: Request, env: Env, ctx: WaitUntil) =>
    (env.DEMO_ACCEPT_PAST_TIME === 'true' ? replayed : tracked)(request, env, ctx),
};
