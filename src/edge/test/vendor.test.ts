/** `task vendor-edge`: copies the client into a Worker with a version header, refuses a directory that is not a Worker. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { EDGE_DIR } from './support';

const vendor = (dir: string) => spawnSync(process.execPath, [join(EDGE_DIR, 'scripts/vendor.mjs'), dir], { encoding: 'utf8' });

test('a directory without wrangler configuration is refused and left untouched', () => {
  const dir = mkdtempSync(join(tmpdir(), 'not-a-worker-'));
  const result = vendor(dir);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /has no wrangler configuration/);
  assert.deepEqual(readdirSync(dir), []);
});

/** A Worker's root with a wrangler configuration and an empty src/. */
function workerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'worker-'));
  writeFileSync(join(dir, 'wrangler.toml'), 'name = "cv-bot"\nmain = "src/index.ts"\n');
  mkdirSync(join(dir, 'src'));
  return dir;
}

/**
 * The Worker's code as it is today, with its one import line pointed at the vendored module: every call
 * shape of the former src/aws/sqs-logger.ts, with the types the Worker declares for what they return.
 */
const FORMER_WORKER = `import { initializeSQSLogger, sqsLogger, type QueryEvent, type ResponseEvent, type SQSConfig } from './analytics/sqs-logger';

interface Env {
  AWS_SQS_URL: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AI: unknown;
  VECTORIZE: unknown;
}

export default {
  async fetch(request: Request, env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }): Promise<Response> {
    const ready: boolean = initializeSQSLogger(env);
    const config: SQSConfig = { queueUrl: env.AWS_SQS_URL, region: env.AWS_REGION, accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
    if (!ready) sqsLogger.initialize(config);
    const on: boolean = sqsLogger.isInitialized();
    const requestId = crypto.randomUUID();
    const sessionId = request.headers.get('x-session-id') || 'anonymous';
    const query: QueryEvent = sqsLogger.createQueryEvent(requestId, sessionId, 'Has she led a team?', {
      userAgent: request.headers.get('user-agent') || 'unknown',
      referer: request.headers.get('referer') || undefined,
    });
    const bare: QueryEvent = sqsLogger.createQueryEvent(requestId, sessionId, 'q');
    const response: ResponseEvent = sqsLogger.createResponseEvent(
      requestId, sessionId, 'partial', 64, 'Moderate match',
      { totalTime: 120, llmTime: 80, retrievalTime: 30, cacheHit: false }, 5,
      { matchQuality: 0.64, sourcesUsed: ['Kubernetes'] },
    );
    const minimal: ResponseEvent = sqsLogger.createResponseEvent(requestId, sessionId, 'none', 0, 'no match');
    const sent: Promise<void> = sqsLogger.sendEvent(query);
    ctx.waitUntil(sent);
    for (const event of [bare, response, minimal]) ctx.waitUntil(sqsLogger.sendEvent(event));
    return new Response(on ? 'ok' : 'off');
  },
};
`;

test('the client lands in src/analytics with a version header and the former import keeps compiling', async () => {
  const dir = workerDir();
  writeFileSync(join(dir, 'src/index.ts'), FORMER_WORKER);
  const result = vendor(dir);
  assert.equal(result.status, 0, result.stderr);
  const files = readdirSync(join(dir, 'src/analytics')).sort();
  assert.deepEqual(files, readdirSync(join(EDGE_DIR, 'client')).filter((name) => name.endsWith('.ts')).sort());
  const vendored = readFileSync(join(dir, 'src/analytics/sigv4.ts'), 'utf8');
  assert.match(vendored, /^\/\/ Vendored from cv-analytics src\/edge\/client, version 1\.0\.0 \(/);
  assert.ok(vendored.endsWith(readFileSync(join(EDGE_DIR, 'client/sigv4.ts'), 'utf8')));
  const bundled = await build({ entryPoints: [join(dir, 'src/index.ts')], bundle: true, write: false, format: 'esm', platform: 'neutral', logLevel: 'silent' });
  assert.equal(bundled.errors.length, 0);
});

test('the former call shapes type-check against the vendored module under strict tsc', () => {
  const dir = workerDir();
  writeFileSync(join(dir, 'src/index.ts'), FORMER_WORKER);
  assert.equal(vendor(dir).status, 0);
  // No @types from this repository: the Worker compiles against the standard web APIs only.
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true, skipLibCheck: true },
    include: ['src'],
  }));
  const tsc = spawnSync(process.execPath, [join(EDGE_DIR, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test('a file in src/analytics that vendor-edge did not write is never overwritten', () => {
  const dir = workerDir();
  mkdirSync(join(dir, 'src/analytics'));
  const own = '// The Worker\'s own client, written by hand.\nexport const mine = 1;\n';
  writeFileSync(join(dir, 'src/analytics/client.ts'), own);
  const result = vendor(dir);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /src\/analytics\/client\.ts exists and was not written by vendor-edge/);
  assert.match(result.stderr, /Nothing copied/);
  assert.equal(readFileSync(join(dir, 'src/analytics/client.ts'), 'utf8'), own);
  assert.deepEqual(readdirSync(join(dir, 'src/analytics')), ['client.ts']);
});
