/**
 * In workerd: when SQS is unreachable (a closed port) or hangs (a server that answers after 10 s), every user
 * gets exactly the response the Worker gives without analytics, and each failure is logged.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { freePort } from './support';
import { runAll, startWorker, userRequests, waitFor, type RunningWorker } from './workerd';

const requests = userRequests(30);
let baseline: Array<{ status: number; body: string }>;
let bare: RunningWorker;

before(async () => {
  bare = await startWorker('without');
  baseline = await runAll(requests, 4, (request) => bare.fetch(request));
});
after(() => bare.dispose());

const credentials = { AWS_REGION: 'eu-west-2', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };

function assertSameAsBaseline(got: Array<{ status: number; body: string }>): void {
  assert.deepEqual(got.map((r) => r.status), baseline.map((r) => r.status));
  // A thrown error's page names the bundle it came from; every other body must be byte-identical.
  got.forEach((response, i) => {
    if (response.status !== 500) assert.equal(response.body, baseline[i]!.body);
  });
}

/** One delivery per event, or one for a refused request's batched pair. */
function expectedDeliveries(): number {
  return requests.reduce((sum, r) => sum + (r.expect.batched ? 1 : 2), 0);
}

function failedDeliveries(logs: string[]): string[] {
  return logs.filter((line) => line.includes('cv-analytics: not sent'));
}

test('SQS on a closed port: responses unchanged, every failed delivery logged', async () => {
  const port = await freePort();
  const worker = await startWorker('with', { ...credentials, AWS_SQS_URL: `http://127.0.0.1:${port}/123456789012/events.fifo` });
  try {
    const got = await runAll(requests, 4, (request) => worker.fetch(request));
    assertSameAsBaseline(got);
    const expected = expectedDeliveries();
    const failures = () => failedDeliveries(worker.logs);
    assert.ok(await waitFor(() => failures().length >= expected, 20_000), `${failures().length} of ${expected} failures logged:\n${worker.logs.join('\n')}`);
  } finally {
    await worker.dispose();
  }
});

test('SQS that hangs for 10 s: responses unchanged, sends abandoned at the timeout', async () => {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((_request, response) => {
    setTimeout(() => response.end('{}'), 10_000).unref();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const worker = await startWorker('with', { ...credentials, AWS_SQS_URL: `http://127.0.0.1:${port}/123456789012/events.fifo` });
  try {
    const got = await runAll(requests, 4, (request) => worker.fetch(request));
    assertSameAsBaseline(got);
    // Every delivery (one per event, or one for a refused request's batched pair) is given up at the timeout
    // and logged as such: none is left hanging, none fails for another reason.
    const expected = expectedDeliveries();
    const failures = () => failedDeliveries(worker.logs);
    assert.ok(await waitFor(() => failures().length >= expected, 15_000), `${failures().length} of ${expected} failures logged:\n${worker.logs.join('\n')}`);
    const timeouts = failures().filter((line) => line.includes('): timeout after 3000 ms'));
    assert.equal(timeouts.length, expected, failures().join('\n'));
    assert.equal(failures().length, expected, failures().join('\n'));
  } finally {
    await worker.dispose();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});
