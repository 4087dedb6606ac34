// Copy the client into a Worker's src/analytics/, each file headed with the version it came from.
// Usage: node scripts/vendor.mjs WORKER_DIR
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HEADER_MARK = '// Vendored from cv-analytics';
const WRANGLER_FILES = ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'];

function fail(message) {
  console.error(`vendor-edge: ${message}`);
  process.exit(1);
}

function version() {
  const { version: packageVersion } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
  try {
    const git = (...args) => execFileSync('git', args, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short=12', 'HEAD');
    const dirty = git('status', '--porcelain', '--', join(here, 'client')) ? ', with uncommitted changes' : '';
    return `${packageVersion} (commit ${commit}${dirty})`;
  } catch {
    return `${packageVersion} (not from a git checkout)`;
  }
}

const target = process.argv[2];
if (!target) fail('say where the Worker is: task vendor-edge WORKER_DIR=path/to/worker');
const workerDir = resolve(process.cwd(), target);
if (!existsSync(workerDir)) fail(`${workerDir} does not exist`);
if (!WRANGLER_FILES.some((name) => existsSync(join(workerDir, name)))) {
  fail(`${workerDir} has no wrangler configuration (${WRANGLER_FILES.join(', ')}): is it a Worker's root directory? Nothing copied.`);
}

const destination = join(workerDir, 'src', 'analytics');
mkdirSync(destination, { recursive: true });
const sources = readdirSync(join(here, 'client')).filter((name) => name.endsWith('.ts')).sort();
// Files an earlier vendoring wrote that the client no longer has.
for (const name of readdirSync(destination)) {
  const path = join(destination, name);
  if (!sources.includes(name) && name.endsWith('.ts') && readFileSync(path, 'utf8').startsWith(HEADER_MARK)) rmSync(path);
}
const header = `${HEADER_MARK} src/edge/client, version ${version()}.\n` +
  '// Do not edit here: change it in cv-analytics and run `task vendor-edge WORKER_DIR=...` again.\n\n';
for (const name of sources) {
  writeFileSync(join(destination, name), header + readFileSync(join(here, 'client', name), 'utf8'));
}
console.log(`vendor-edge: copied ${sources.length} files into ${destination} (version ${version()})`);
