/**
 * What the analytics client adds to a user's response time: the example Worker with the client and without
 * it, both in workerd through Miniflare, 1,000 requests each, interleaved (A B, B A, ...) so that machine noise
 * falls on both alike. SQS is a local server that answers at once; the sends happen in waitUntil after the
 * response either way. Prints p50, p99 and their differences. Target: at most 0.5 ms added at p50.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startWorker, type UserRequest } from '../../src/edge/test/workerd';

const REQUESTS = 1000;
const WARMUP = 100;
const TARGET_P50_MS = 0.5;

// The SQS stand-in runs in its own process, so answering the Worker's sends does not borrow the event loop
// that times the requests.
const SQS_STAND_IN = `
  const server = require('node:http').createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.setHeader('content-type', 'application/x-amz-json-1.0');
      response.end(String(request.headers['x-amz-target']).endsWith('Batch') ? '{"Successful":[],"Failed":[]}' : '{"MessageId":"m"}');
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;
const sqs = spawn(process.execPath, ['-e', SQS_STAND_IN], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) => sqs.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));

const withClient = await startWorker('with', {
  AWS_SQS_URL: `http://127.0.0.1:${port}/123456789012/cv-analytics-events.fifo`,
  AWS_REGION: 'eu-west-2',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
});
const without = await startWorker('without');
const question: UserRequest = {
  question: 'Has she led a team using Kubernetes and Terraform?',
  sessionId: 'bench-session',
  expect: { status: 200, outcome: 'answered', batched: false },
};

async function timed(worker: typeof withClient): Promise<number> {
  const started = performance.now();
  const response = await worker.fetch(question);
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`unexpected status ${response.status}`);
  return elapsed;
}

try {
  for (let i = 0; i < WARMUP; i += 1) {
    await timed(withClient);
    await timed(without);
  }
  const samples = { with: [] as number[], without: [] as number[] };
  for (let i = 0; i < REQUESTS; i += 1) {
    if (i % 2 === 0) {
      samples.with.push(await timed(withClient));
      samples.without.push(await timed(without));
    } else {
      samples.without.push(await timed(without));
      samples.with.push(await timed(withClient));
    }
  }
  const quantile = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  };
  const row = (name: string, values: number[]) =>
    `${name.padEnd(16)} p50 ${quantile(values, 0.5).toFixed(3)} ms   p99 ${quantile(values, 0.99).toFixed(3)} ms`;
  const addedP50 = quantile(samples.with, 0.5) - quantile(samples.without, 0.5);
  const addedP99 = quantile(samples.with, 0.99) - quantile(samples.without, 0.99);
  console.log(`dispatchFetch latency in workerd, ${REQUESTS} requests each, interleaved`);
  console.log(row('without client', samples.without));
  console.log(row('with client', samples.with));
  console.log(`added            p50 ${addedP50.toFixed(3)} ms   p99 ${addedP99.toFixed(3)} ms   (target at p50: <= ${TARGET_P50_MS} ms: ${addedP50 <= TARGET_P50_MS ? 'met' : 'NOT met'})`);
} finally {
  await withClient.dispose();
  await without.dispose();
  sqs.kill();
}
