// Copy the client into a Worker's src/analytics/, each file headed with the version it came from.
// Usage: node scripts/vendor.mjs WORKER_DIR
// A relative WORKER_DIR is resolved from the current directory; `task vendor-edge` (and ./taskw) run from the
// repository root, so there `WORKER_DIR=../cv-bot` means a cv-bot directory next to this repository.
// A file in src/analytics/ that this script did not write (no vendored header) is never overwritten.
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
const sources = readdirSync(join(here, 'client')).filter((name) => name.endsWith('.ts')).sort();
// The Worker's own code may live in src/analytics/ too: a file without the header is its, not ours.
const foreign = sources
  .map((name) => join(destination, name))
  .filter((path) => existsSync(path) && !readFileSync(path, 'utf8').startsWith(HEADER_MARK));
if (foreign.length > 0) {
  fail(`${foreign.join(', ')} ${foreign.length === 1 ? 'exists and was' : 'exist and were'} not written by vendor-edge ` +
    `(no "${HEADER_MARK}" header). Move ${foreign.length === 1 ? 'it' : 'them'} out of ${destination} ` +
    '(or delete it if it is an old hand-made copy of the client) and run again. Nothing copied.');
}
mkdirSync(destination, { recursive: true });
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
