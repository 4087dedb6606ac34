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
  /**
   * Demo only: "low-high" in milliseconds. The stand-in model then really takes that long to answer (the
   * time drawn from the request id, so a replay is repeatable), its search 40 to 160 ms, and a question it
   * has answered before comes from its cache without the model, so the weekly report's speed and cache
   * figures have something real to measure.
   */
  DEMO_MODEL_DELAY_MS?: string;
}

const SKILLS: Record<string, string[]> = {
  kubernetes: ['Kubernetes', 'Docker', 'Terraform'],
  python: ['Python', 'FastAPI', 'Django'],
  typescript: ['TypeScript', 'Cloudflare Workers', 'Node.js'],
  aws: ['AWS', 'Lambda', 'DynamoDB', 'SQS'],
  go: ['Go', 'gRPC'],
};

const INJECTION = /ignore (all )?previous instructions|system prompt/i;
const MODEL_DELAY = /^(\d+)-(\d+)$/;

/** Answers the stand-in model has given in this isolate, by normalised question (demo only). */
const answerCache = new Map<string, string[]>();

function modelDelay(setting: string | undefined, requestId: string): number | null {
  const range = MODEL_DELAY.exec(setting ?? '');
  if (!range) return null;
  const [low, high] = [Number(range[1]), Number(range[2])];
  let hash = 0;
  for (const char of requestId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return low + (hash % (Math.max(high - low, 0) + 1));
}
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


  let payload: { question?: unknown; sessionId?: unknown };
  try {
    payload = (await request.json()) as typeof payload;
  } catch {
    return json({ error: 'the body must be JSON: {"question": "..."}' }, 400);
  }
  const question = typeof payload.question === 'string' ? payload.question.trim() : '';
  const sessionId = typeof payload.sessionId === 'string' ? payload.sessionId : undefined;
  if (!question) return json({ error: 'question is required' }, 400);

  const demo = env.DEMO_ACCEPT_PAST_TIME === 'true';
  // Demo only: the country a replayed recruiter asked from (Miniflare gives every request the same one).
  const country = demo ? request.headers.get('x-demo-country') ?? undefined : undefined;
  track.query({ query: question, sessionId, ...(country ? { metadata: { country } } : {}) });
  if (question.length > MAX_QUESTION || INJECTION.test(question)) {
    track.response({ reasoning: 'refused: not a question about the CV' });
    return json({ error: 'please ask about the CV' }, 400);
  }
  if (env.DEMO_ALLOW_ISOLATE_CRASH === 'true' && request.headers.get('x-demo-crash') === 'isolate') {
    return new Promise<Response>(() => undefined);
  }
  if (/\bcrash\b/i.test(question)) throw new Error('retrieval failed');

  const delay = modelDelay(env.DEMO_MODEL_DELAY_MS, track.requestId);
  const started = Date.now();
  // With the demo's model delay the stand-in search takes a little time too: 40 to 160 ms.
  if (delay !== null) await new Promise((resolve) => setTimeout(resolve, 40 + (delay % 121)));
  const words = question.toLowerCase().match(/[a-z]+/g) ?? [];
  const sources = [...new Set(words.flatMap((word) => SKILLS[word] ?? []))];
  const retrievalTime = Date.now() - started;
  const cacheKey = words.join(' ');
  const cacheHit = delay !== null && answerCache.has(cacheKey);
  let llmTime = 0;
  if (delay !== null && !cacheHit && sources.length > 0) {
    const thinking = Date.now();
    await new Promise((resolve) => setTimeout(resolve, delay));
    llmTime = Date.now() - thinking;
    answerCache.set(cacheKey, sources);
  }
  if (sources.length === 0) {
    track.response({
      matchType: 'none', matchScore: 0, reasoning: 'No CV entry matches the question', vectorMatches: 0,
      outcome: 'no_results', performance: { retrievalTime, llmTime: 0, cacheHit },
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
    performance: { retrievalTime, llmTime, cacheHit },
    metadata: { matchQuality: score / 100, sourcesUsed: sources.slice(0, 5) },
  });
  return json({ answer: `Yes: the CV lists ${sources.join(', ')}.`, sources });
}
