/**
 * A stand-in for the CV chatbot: enough behaviour to exercise every exit path the analytics must record
 * (an answer, no results, a refused question, a malformed request, a thrown error) without D1, Vectorize or
 * Workers AI. Used by the example Worker, the tests and the benchmarks.
 */
import type { Tracker } from '../client/with-analytics';

export interface ChatbotEnv {
  /** Demo only: "true" lets the `x-demo-time` header (epoch ms) date the request in the past. */
  DEMO_ACCEPT_PAST_TIME?: string;
  /**
   * Demo only: "true" lets the `x-demo-crash: isolate` header make the request hang after its question was
   * recorded, so workerd cancels it ("The script will never generate a response") once the query event is
   * sent: the way an isolate dies mid-request, leaving a question that no response event ever follows.
   */
  DEMO_ALLOW_ISOLATE_CRASH?: string;
}

const SKILLS: Record<string, string[]> = {
  kubernetes: ['Kubernetes', 'Docker', 'Terraform'],
  python: ['Python', 'FastAPI', 'Django'],
  typescript: ['TypeScript', 'Cloudflare Workers', 'Node.js'],
  aws: ['AWS', 'Lambda', 'DynamoDB', 'SQS'],
  go: ['Go', 'gRPC'],
};

const INJECTION = /ignore (all )?previous instructions|system prompt/i;
const MAX_QUESTION = 500;

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export async function answer(request: Request, env: ChatbotEnv, track: Tracker): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/health') {
    track.ignore();
    return json({ ok: true });
  }
  if (url.pathname !== '/chat' || request.method !== 'POST') return json({ error: 'not found' }, 404);

  const demoTime = Number(request.headers.get('x-demo-time'));
  if (env.DEMO_ACCEPT_PAST_TIME === 'true' && Number.isFinite(demoTime) && demoTime > 0) track.startedAt(demoTime);

  let payload: { question?: unknown; sessionId?: unknown };
  try {
    payload = (await request.json()) as typeof payload;
  } catch {
    return json({ error: 'the body must be JSON: {"question": "..."}' }, 400);
  }
  const question = typeof payload.question === 'string' ? payload.question.trim() : '';
  const sessionId = typeof payload.sessionId === 'string' ? payload.sessionId : undefined;
  if (!question) return json({ error: 'question is required' }, 400);

  track.query({ query: question, sessionId });
  if (question.length > MAX_QUESTION || INJECTION.test(question)) {
    track.response({ reasoning: 'refused: not a question about the CV' });
    return json({ error: 'please ask about the CV' }, 400);
  }
  if (env.DEMO_ALLOW_ISOLATE_CRASH === 'true' && request.headers.get('x-demo-crash') === 'isolate') {
    return new Promise<Response>(() => undefined);
  }
  if (/\bcrash\b/i.test(question)) throw new Error('retrieval failed');

  const started = Date.now();
  const words = question.toLowerCase().match(/[a-z]+/g) ?? [];
  const sources = [...new Set(words.flatMap((word) => SKILLS[word] ?? []))];
  const retrievalTime = Date.now() - started;
  if (sources.length === 0) {
    track.response({
      matchType: 'none', matchScore: 0, reasoning: 'No CV entry matches the question', vectorMatches: 0,
      outcome: 'no_results', performance: { retrievalTime, llmTime: 0, cacheHit: false },
    });
    return json({ answer: "I couldn't find that in the CV.", sources: [] });
  }
  const score = Math.min(100, 40 + sources.length * 15);
  track.response({
    matchType: score >= 80 ? 'full' : 'partial',
    matchScore: score,
    reasoning: `Matched ${sources[0]} and ${sources.length - 1} related skills`,
    vectorMatches: sources.length,
    model: '@cf/meta/llama-3.1-8b-instruct',
    tokens: { input: 200 + question.length, output: 60 },
    performance: { retrievalTime, llmTime: 0, cacheHit: false },
    metadata: { matchQuality: score / 100, sourcesUsed: sources.slice(0, 5) },
  });
  return json({ answer: `Yes: the CV lists ${sources.join(', ')}.`, sources });
}
