// Compile the example Workers, the tests and the benchmarks with esbuild into dist/ (not committed).
// Worker bundles are self-contained ES modules for workerd; tests and benchmarks run on Node and import
// their npm packages from node_modules.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = resolve(here, '../../bench/edge');
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });

const ts = (dir) => readdirSync(dir).filter((name) => name.endsWith('.ts')).map((name) => join(dir, name));

await build({
  entryPoints: {
    'example/worker': join(here, 'example/worker.ts'),
    'example/worker-without-analytics': join(here, 'example/worker-without-analytics.ts'),
    'bench/sign-worker': join(benchDir, 'sign-worker.ts'),
  },
  outdir: dist,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  logLevel: 'warning',
});

await build({
  entryPoints: [...ts(join(here, 'test')).map((file) => ({ in: file, out: `test/${file.split('/').pop().replace(/\.ts$/, '')}` })),
    ...ts(benchDir).filter((file) => !file.endsWith('sign-worker.ts'))
      .map((file) => ({ in: file, out: `bench/${file.split('/').pop().replace(/\.ts$/, '')}` }))],
  outdir: dist,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // tsconfig maps miniflare for the benchmarks' type check; at run time it is an ordinary package.
  external: ['miniflare'],
  logLevel: 'warning',
});
