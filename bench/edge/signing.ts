/**
 * The cost of one SigV4 signature inside workerd with the day's signing key cached: 1,000 signatures per
 * request, five rounds. workerd's clock moves in whole milliseconds, so the figure is taken two ways: the
 * Worker's own clock around the loop, and from outside as the difference between n = 1,000 and n = 0.
 * Target: at most 50 µs per signature.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Miniflare } from 'miniflare';
import { EDGE_DIR } from '../../src/edge/test/support';

const SIGNATURES = 1000;
const ROUNDS = 5;
const TARGET_US = 50;

const mf = new Miniflare({ modules: true, scriptPath: join(EDGE_DIR, 'dist/bench/sign-worker.mjs'), compatibilityDate: '2026-04-01' });
try {
  const call = async (n: number) => {
    const started = performance.now();
    const response = await mf.dispatchFetch(`https://bench.local/?n=${n}`);
    const body = (await response.json()) as { elapsedMs: number; derivations: number };
    return { outside: performance.now() - started, ...body };
  };
  await call(SIGNATURES); // warm up
  const inside: number[] = [];
  const outside: number[] = [];
  let derivations = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    const loaded = await call(SIGNATURES);
    const empty = await call(0);
    inside.push((loaded.elapsedMs * 1000) / SIGNATURES);
    outside.push(((loaded.outside - empty.outside) * 1000) / SIGNATURES);
    derivations = loaded.derivations;
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const perSignature = Math.max(median(inside), median(outside));
  console.log(`SigV4 signing in workerd, cached key, ${SIGNATURES} signatures x ${ROUNDS} rounds (signing key derived ${derivations} time(s))`);
  console.log(`per signature: ${median(inside).toFixed(1)} us by the Worker's clock, ${median(outside).toFixed(1)} us measured from outside`);
  console.log(`target <= ${TARGET_US} us: ${perSignature <= TARGET_US ? 'met' : 'NOT met'}`);
} finally {
  await mf.dispose();
}
