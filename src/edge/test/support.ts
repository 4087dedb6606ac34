/** Shared by the node tests: paths, the Python helpers, the contract validator, fake fetch and contexts. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import type { WaitUntil } from '../client/client';

/** src/edge, whether running from test/ or dist/test/. */
export const EDGE_DIR = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();
export const REPO_ROOT = resolve(EDGE_DIR, '../..');

export function python(): string {
  const venv = join(REPO_ROOT, '.venv/bin/python');
  return existsSync(venv) ? venv : 'python3';
}

/** Run a Python helper with JSON on stdin; returns its parsed JSON output. Throws with stderr on failure. */
export async function runPython(args: string[], input: unknown = null, onStderrLine?: (line: string) => void): Promise<any> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python(), args, {
      cwd: REPO_ROOT,
      env: { ...process.env, PYTHONPATH: [join(REPO_ROOT, 'src'), REPO_ROOT].join(':') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      const lines = (stderr.slice(stderr.lastIndexOf('\n') + 1) + chunk).split('\n').slice(0, -1);
      stderr += chunk;
      for (const line of lines) onStderrLine?.(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolvePromise(JSON.parse(stdout));
    });
    child.stdin.end(input === null ? '' : JSON.stringify(input));
  });
}

export function pythonSync(args: string[], input: unknown): any {
  const result = spawnSync(python(), args, {
    cwd: REPO_ROOT,
    input: JSON.stringify(input),
    env: { ...process.env, PYTHONPATH: [join(REPO_ROOT, 'src'), REPO_ROOT].join(':') },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout.toString());
}

/** The contract's JSON Schema compiled by ajv in draft 2020-12 mode. */
export function contractValidator(): (event: unknown) => string | null {
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'src/contract/schema/event.schema.json'), 'utf8'));
  // ajv is CommonJS: depending on the loader its class is the default import or that import's `default`.
  const Ajv = ((Ajv2020 as unknown as { default?: typeof Ajv2020 }).default ?? Ajv2020) as typeof Ajv2020;
  const ajv = new Ajv({ strict: true, allErrors: true });
  const validate = ajv.compile(schema);
  return (event) => (validate(event) ? null : ajv.errorsText(validate.errors));
}

export interface CapturedRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  target: string;
}

export interface FakeSqs {
  fetch: typeof fetch;
  requests: CapturedRequest[];
  /** Every SQS message sent, in order: body parsed, with its group and deduplication ids. */
  messages(): Array<{ event: any; body: string; groupId: string; deduplicationId: string }>;
}

/** A fetch that plays SQS: records each request and answers with `reply` (default: success). */
export function fakeSqs(reply?: (request: CapturedRequest, index: number) => Response | Promise<Response>): FakeSqs {
  const requests: CapturedRequest[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const captured = { url: String(input), headers, body: String(init?.body ?? ''), target: headers['x-amz-target'] ?? '' };
    requests.push(captured);
    if (reply) return reply(captured, requests.length - 1);
    const batch = captured.target.endsWith('SendMessageBatch');
    const payload = batch
      ? { Successful: JSON.parse(captured.body).Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: 'm' })), Failed: [] }
      : { MessageId: 'm', MD5OfMessageBody: 'x' };
    return new Response(JSON.stringify(payload), { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' } });
  }) as typeof fetch;
  return {
    fetch: fetchImpl,
    requests,
    messages: () =>
      requests.flatMap((request) => {
        const payload = JSON.parse(request.body);
        const entries = payload.Entries ?? [payload];
        return entries.map((entry: any) => ({
          event: JSON.parse(entry.MessageBody),
          body: entry.MessageBody,
          groupId: entry.MessageGroupId,
          deduplicationId: entry.MessageDeduplicationId,
        }));
      }),
  };
}

/** An ExecutionContext that keeps what was passed to waitUntil, to await it or check it never rejects. */
export function fakeContext(): WaitUntil & { promises: Promise<unknown>[]; settled(): Promise<PromiseSettledResult<unknown>[]> } {
  const promises: Promise<unknown>[] = [];
  return {
    promises,
    waitUntil: (promise) => void promises.push(promise),
    settled: () => Promise.allSettled(promises),
  };
}

export const TEST_ENV = {
  AWS_SQS_URL: 'https://sqs.eu-west-2.amazonaws.com/123456789012/cv-analytics-events.fifo',
  AWS_REGION: 'eu-west-2',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

export async function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePromise(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A seeded PRNG (mulberry32) so a failing random case can be replayed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
