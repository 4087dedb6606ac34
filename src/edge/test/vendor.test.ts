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

test('the client lands in src/analytics with a version header and the former import keeps compiling', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'worker-'));
  writeFileSync(join(dir, 'wrangler.toml'), 'name = "cv-bot"\nmain = "src/index.ts"\n');
  mkdirSync(join(dir, 'src'));
  // The Worker's code as it is today, with its one import line pointed at the vendored module.
  writeFileSync(join(dir, 'src/index.ts'), [
    "import { initializeSQSLogger, sqsLogger } from './analytics/sqs-logger';",
    'export default {',
    '  async fetch(request: Request, env: Record<string, string>, ctx: { waitUntil(p: Promise<unknown>): void }) {',
    '    initializeSQSLogger(env);',
    "    ctx.waitUntil(sqsLogger.sendEvent(sqsLogger.createQueryEvent('r', 'anonymous', 'q', { userAgent: 'ua' })));",
    "    return new Response('ok');",
    '  },',
    '};',
  ].join('\n'));
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
