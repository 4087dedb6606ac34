/** The same chatbot with no analytics at all: the baseline for tests and benchmarks. */
import type { Tracker } from '../client/with-analytics';
import { answer, type ChatbotEnv } from './chatbot';

const untracked: Tracker = {
  requestId: '',
  query: () => undefined,
  response: () => undefined,
  startedAt: () => undefined,
  ignore: () => undefined,
};

export default {
  async fetch(request: Request, env: ChatbotEnv): Promise<Response> {
    const response = await answer(request, env, untracked);
    response.headers.set('x-request-id', '');
    return response;
  },
};
