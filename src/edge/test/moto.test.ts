/**
 * End to end on this machine: the example Worker in workerd sends to a moto server that checks signatures
 * against an IAM user allowed only sqs:SendMessage. 500 user requests; every event must arrive with the right
 * group and deduplication ids, and the processor's parser (contract.parsing.parse_event) must accept every
 * body. Then, with a wrong secret, users still get their normal answers and each failed delivery is logged.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, freePort, runPython } from './support';
import { runAll, startWorker, userRequests, waitFor, type RunningWorker } from './workerd';

const USERS = 500;
const MAX_BACKLOG = 60;
let moto: ChildProcess;
let endpoint: string;
let queue: { queueUrl: string; region: string; publisher: { accessKeyId: string; secretAccessKey: string }; reader: unknown };
let bare: RunningWorker;

before(async () => {
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  const executable = join(REPO_ROOT, '.venv/bin/moto_server');
  moto = spawn(existsSync(executable) ? executable : 'moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const ready = await waitForAsync(async () => (await fetch(`${endpoint}/moto-api/`)).ok, 30_000);
  assert.ok(ready, 'moto server did not start');
  queue = await runPython(['tests/edge/moto_queue.py', 'setup', endpoint]);
  bare = await startWorker('without');
});

after(async () => {
  await bare?.dispose();
  moto?.kill();
});

async function waitForAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const bindings = () => ({
  AWS_SQS_URL: queue.queueUrl,
  AWS_REGION: queue.region,
  AWS_ACCESS_KEY_ID: queue.publisher.accessKeyId,
  AWS_SECRET_ACCESS_KEY: queue.publisher.secretAccessKey,
  // moto answers slowly under this load on a shared machine; what is tested here is arrival, not speed.
  ANALYTICS_TIMEOUT_MS: '20000',
});

test(`${USERS} user requests through workerd: every event reaches moto and parses`, async () => {
  const requests = userRequests(USERS);
  let received = 0;
  const drained = runPython(
    ['tests/edge/moto_queue.py', 'drain', endpoint, queue.queueUrl, String(USERS * 2), '100'],
    queue.reader,
    (line) => {
      const match = /^received (\d+)$/.exec(line);
      if (match) received = Number(match[1]);
    },
  );
  let sent = 0;
  const worker = await startWorker('with', bindings());
  let responses;
  try {
    // moto slows down as its queue deepens; waiting for the drain to keep up (as real traffic, spread over
    // time, would let it) keeps the run short. Users never wait on analytics in the Worker itself.
    responses = await runAll(requests, 4, async (request) => {
      await waitFor(() => sent - received < MAX_BACKLOG, 30_000);
      sent += 2;
      return worker.fetch(request);
    });
  } finally {
    // Deliveries run in waitUntil after each response; keep workerd up until the drain has everything.
    await drained.catch(() => undefined);
    await worker.dispose();
  }
  const report = await drained;
  assert.deepEqual(responses.map((r) => r.status), requests.map((r) => r.expect.status));
  assert.deepEqual(worker.logs.filter((line) => line.includes('cv-analytics')), []);

  assert.equal(report.received, USERS * 2);
  const rejected = report.messages.filter((m: any) => m.contractError !== null);
  assert.deepEqual(rejected.slice(0, 3), [], `${rejected.length} bodies refused by the processor's parser`);

  const byRequest = new Map<string, Record<string, any>>();
  for (const message of report.messages) {
    const event = JSON.parse(message.body);
    assert.equal(message.deduplicationId, `${event.requestId}:${event.eventType}`);
    const session = event.sessionId && event.sessionId !== 'anonymous' ? event.sessionId : event.requestId;
    assert.equal(message.groupId, session);
    byRequest.set(event.requestId, { ...byRequest.get(event.requestId), [event.eventType]: event });
  }
  // A thrown error's response carries no request id: find those requests by their question.
  const byQuestion = new Map([...byRequest.values()].map((events) => [events['query']?.query, events]));
  responses.forEach((response, i) => {
    const events = response.requestId ? byRequest.get(response.requestId) : byQuestion.get(requests[i]!.question);
    assert.ok(events?.['query'] && events['response'], `request ${i} is missing an event`);
    assert.equal(events['response'].status, requests[i]!.expect.status);
    assert.equal(events['response'].outcome, requests[i]!.expect.outcome);
    assert.ok(!events['query'].query.includes('@example.com'), 'an e-mail address left the Worker');
  });
});

test('with a wrong secret users get their normal answers and every failed delivery is logged', async () => {
  const requests = userRequests(40);
  const worker = await startWorker('with', { ...bindings(), AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
  try {
    const [got, expected] = await Promise.all([
      runAll(requests, 4, (request) => worker.fetch(request)),
      runAll(requests, 4, (request) => bare.fetch(request)),
    ]);
    assert.deepEqual(got.map((r) => r.status), expected.map((r) => r.status));
    got.forEach((response, i) => {
      if (response.status !== 500) assert.equal(response.body, expected[i]!.body);
    });
    const deliveries = requests.reduce((sum, r) => sum + (r.expect.batched ? 1 : 2), 0);
    const failures = () => worker.logs.filter((line) => line.includes('cv-analytics: not sent'));
    assert.ok(await waitFor(() => failures().length >= deliveries, 30_000), `${failures().length} of ${deliveries} logged`);
    for (const line of failures()) assert.match(line, /HTTP 403 SignatureDoesNotMatch/);
  } finally {
    await worker.dispose();
  }
});
