import { createServer } from 'node:http';
import { hostname } from 'node:os';

import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';

import { LeaderElector } from './leader-election.js';
import { operatorMetrics } from './metrics.js';
import { Operator } from './operator.js';

/**
 * The operator process: campaigns for the Lease, runs the controllers while it leads, serves /metrics,
 * /healthz and /readyz, and shuts down gracefully on SIGTERM (finish in-flight reconciles, release the lease).
 * Losing the lease exits the process: a fresh start is the simplest way to drop every cache and goroutine-like
 * loop of a former leader, and Kubernetes restarts it as a candidate.
 */
const namespace = process.env.OPERATOR_NAMESPACE ?? 'archipelago';
const identity = process.env.POD_NAME ?? hostname();
const port = Number(process.env.METRICS_PORT ?? 8080);
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

const kc = new KubeConfig();
kc.loadFromDefault();
const metrics = operatorMetrics();
const operator = new Operator(kc, metrics, { namespace, identity, workers: Number(process.env.OPERATOR_WORKERS ?? 4), log });
let started = false;

const elector = new LeaderElector(kc.makeApiClient(CoordinationV1Api), {
  namespace,
  name: 'archipelago-operator',
  identity,
  onStartedLeading: () => {
    log(`${identity} leads`);
    metrics.leader.set(1);
    operator.start().then(
      () => {
        started = true;
      },
      (e) => {
        log(`start failed: ${String(e)}`);
        process.exit(1);
      },
    );
  },
  onStoppedLeading: () => {
    log(`${identity} lost the lease; exiting`);
    metrics.leader.set(0);
    process.exit(1);
  },
});

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    void metrics.registry.metrics().then((text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text));
  } else if (req.url === '/healthz') {
    res.writeHead(200).end('ok');
  } else if (req.url === '/readyz') {
    // Ready = leading with synced informers, or a healthy standby.
    res.writeHead(started || !elector.isLeader ? 200 : 503).end(started ? 'leading' : 'standby');
  } else {
    res.writeHead(404).end();
  }
});
server.listen(port, () => log(`metrics on :${port}; campaigning in ${namespace} as ${identity}`));
elector.start();

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    void (async () => {
      if (started) await operator.stop();
      await elector.stop();
      server.close();
      process.exit(0);
    })();
  });
}
