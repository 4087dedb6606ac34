/** The same chatbot with no analytics at all: the baseline for tests and benchmarks. */
import { untracked } from '../client/with-analytics';
import { answer, type ChatbotEnv } from './chatbot';

export default {
  async fetch(request: Request, env: ChatbotEnv): Promise<Response> {
    const response = await answer(request, env, untracked);
    response.headers.set('x-request-id', '');
    return response;
  },
};
