/** The example Worker: the chatbot wrapped by the analytics client. */
import type { AnalyticsEnv } from '../client/client';
import { withAnalytics } from '../client/with-analytics';
import { answer, type ChatbotEnv } from './chatbot';

type Env = AnalyticsEnv & ChatbotEnv;

export default {
  fetch: withAnalytics<Env>(async (request, env, _ctx, track) => {
    const response = await answer(request, env, track);
    // Lets a caller (and the tests) find this request's events.
    response.headers.set('x-request-id', track.requestId);
    return response;
  }),
};
