// Serve the example Worker (dist/example/worker.mjs) in workerd through Miniflare on a loopback port, for the
// local demo. Bindings come as one JSON object in the CV_ANALYTICS_WORKER_BINDINGS variable. Prints one JSON
// line {"url": ...} when ready, then the Worker's own output; stops on SIGTERM or SIGINT, and also when its
// standard input closes, so a parent that dies without cleaning up never leaves workerd behind.
// With CV_ANALYTICS_WORKER_CA set (the local AWS twin's CA, a PEM file), the Worker's outbound requests are
// made by this Node process, which trusts that CA through NODE_EXTRA_CA_CERTS; workerd itself trusts only
// the system's CAs.
import { Miniflare } from 'miniflare';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The Worker's outbound request, made by Node (whose TLS trusts NODE_EXTRA_CA_CERTS), body read whole.
async function fetchFromNode(request) {
  const body = ['GET', 'HEAD'].includes(request.method) ? undefined : await request.arrayBuffer();
  try {
    return await fetch(request.url, { method: request.method, headers: request.headers, body });
  } catch (error) {
    console.error(`outbound ${request.method} ${request.url} failed: ${error.cause ?? error}`);
    throw error;
  }
}

const bindings = JSON.parse(process.env.CV_ANALYTICS_WORKER_BINDINGS ?? '{}');
const mf = new Miniflare({
  modules: true,
  scriptPath: join(here, 'dist/example/worker.mjs'),
  compatibilityDate: '2026-04-01',
  host: '127.0.0.1',
  port: Number(process.env.CV_ANALYTICS_WORKER_PORT ?? 0),
  bindings,
  ...(process.env.CV_ANALYTICS_WORKER_CA ? { outboundService: fetchFromNode } : {}),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await mf.dispose();
  } finally {
    process.exit(code);
  }
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

try {
  const url = await mf.ready;
  process.stdout.write(`${JSON.stringify({ url: url.href })}\n`);
} catch (error) {
  console.error(`the example Worker did not start: ${error}`);
  await stop(1);
}
