// Test harness for the Worker: the built worker (worker/build) in Miniflare/workerd with the
// KV namespaces and Queues of wrangler.toml, and a real HTTP server on 127.0.0.1 as the
// downstream shop backend.
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const STRIPE_SECRET = 'whsec_worker_test_stripe_secret';
// Standard Webhooks secret: whsec_ + base64 of random bytes.
export const DOWNSTREAM_SECRET = 'whsec_c3RyaXBlLWJyaWRnZS10ZXN0LWRvd25zdHJlYW0ta2V5';
export const ADMIN_TOKEN = 'test-admin-token';

/**
 * The Worker with wrangler.toml's bindings, overridden by `vars` and queue `consumer` settings.
 * `withoutKv`: KV bindings left out (as when a namespace is unavailable). `persist`: a folder for
 * Durable Object and KV storage that outlives the runtime (restart tests).
 */
export async function startWorker({ downstreamUrl, vars = {}, consumer = {}, withoutQueue = false, withoutKv = [], persist }) {
  // An explicit (empty) env file: wrangler then does not read .dev.vars.
  const { workerOptions } = await unstable_getMiniflareWorkerOptions(join(repoRoot, 'wrangler.toml'), undefined, {
    envFiles: [join(repoRoot, 'worker/test/test.env')],
  });
  const queueConsumers = Object.fromEntries(
    Object.entries(workerOptions.queueConsumers).map(([name, opts]) => [name, { ...opts, ...consumer }]),
  );
  const logs = [];
  const mf = new Miniflare({
    ...workerOptions,
    queueConsumers,
    kvNamespaces: Object.fromEntries(Object.entries(workerOptions.kvNamespaces).filter(([name]) => !withoutKv.includes(name))),
    // withoutQueue: the producer binding is missing, as when Queues are unavailable.
    queueProducers: withoutQueue ? {} : workerOptions.queueProducers,
    name: 'stripe-bridge',
    modules: true,
    scriptPath: join(repoRoot, 'worker/build/index.js'),
    modulesRoot: join(repoRoot, 'worker/build'),
    bindings: {
      ...workerOptions.bindings,
      DOWNSTREAM_URL: downstreamUrl,
      STRIPE_WEBHOOK_SECRET: `whsec_old_rolled_secret,${STRIPE_SECRET}`,
      DOWNSTREAM_SECRET,
      ADMIN_TOKEN,
      RETRY_BASE_SECONDS: '1',
      // The delivery suites check per-event forwards; the order-book suite sets FORWARD=state.
      FORWARD: 'events',
      ...vars,
    },
    cf: false,
    // persist: a folder that keeps Durable Objects and KV across restarts of the runtime.
    ...(persist ? { durableObjectsPersist: join(persist, 'do'), kvPersist: join(persist, 'kv') } : {}),
    // Collect the Worker's log lines (workerd's stdout) for the tests.
    handleRuntimeStdio(stdout, stderr) {
      for (const stream of [stdout, stderr]) {
        let rest = '';
        stream.on('data', (chunk) => {
          const text = rest + chunk.toString('utf8');
          const lines = text.split('\n');
          rest = lines.pop();
          logs.push(...lines.filter(Boolean));
        });
      }
    },
  });
  await mf.ready;
  mf.logs = logs;
  return mf;
}

/**
 * A downstream backend on 127.0.0.1. `respond(eventId, attempt)` picks the status code;
 * every request is recorded with its headers and body.
 */
export async function startDownstream(respond = () => 200) {
  const received = [];
  const attempts = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = req.headers['webhook-id'];
      const attempt = (attempts.get(id) || 0) + 1;
      attempts.set(id, attempt);
      const status = await respond(id, attempt, body);
      received.push({ id, attempt, status, headers: req.headers, body, path: req.url });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/stripe-bridge`,
    received,
    delivered: () => received.filter((r) => r.status >= 200 && r.status < 300),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Polls `check` until it returns a truthy value (or throws after `ms`). */
export async function waitFor(check, { ms = 20000, what = 'condition' } = {}) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A meter of the CPU seconds (user + system) of the workerd process this Node process started
 * (Worker, Durable Objects, KV, Queues and the runtime itself): workerd reports no CPU time per
 * request locally (its tail events say cpuTime 0). Call after startWorker; NaN off Linux.
 */
export function workerdCpuMeter() {
  let clkTck = 100;
  try {
    clkTck = Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    // the usual value
  }
  let pid = null;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm.startsWith('workerd')) pid = Number(name);
    } catch {
      // gone
    }
  }
  return () => {
    if (!pid) return NaN;
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clkTck;
  };
}
