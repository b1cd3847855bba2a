/**
 * Operators at scale: N islands and M node sets (one slurmd each) reconciled against the fake API server.
 * The fake runs in a child process together with a stand-in for the kubelet and the workload controllers
 * (it marks StatefulSets, Deployments and pods ready as they appear), so this process's memory is the
 * operator's (plus the small driver that creates the resources and polls for convergence).
 *
 *   node operators/dist/benchmarks/operators/run.mjs [--islands 1000] [--nodesets 10000] [--workers 8]
 *
 * Converged = every Island Ready with nodes.ready == nodes.total, every NodeSet Ready, observedGeneration
 * current. Prints JSON on stdout and writes it to benchmarks/results/operators-<timestamp>.json. Baseline: the fewest
 * API writes any operator needs for this work (below); the ratio shows the extra writes of ours.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as k8s from '@kubernetes/client-node';

import { API_VERSION, customObjects, type Kind } from '../../contracts/kubernetes/v1alpha1.js';
import { FakeKubeApiServer } from '../../test/support/fake-kube-apiserver/index.js';
import { operatorMetrics } from '../../operators/src/runtime/metrics.js';
import { Operator } from '../../operators/src/runtime/operator.js';
import { crdText } from '../../operators/test/helpers.js';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

const NS = 'bench';
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Runs `n` tasks with at most `width` in flight. */
async function pool(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

// ---------------------------------------------------------------- child: API server + kubelet stand-in

async function child(): Promise<void> {
  const server = await FakeKubeApiServer.start({ watchHistory: 1_000_000, watchTimeoutMs: 3_600_000 });
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions(server.kubeConfigOptions());
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const p of ['islands', 'nodesets'] as const) await objects.create(k8s.loadYaml<k8s.KubernetesObject>(crdText(p)));
  await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const pending: (() => Promise<unknown>)[] = [];
  const ready = (kind: string, name: string, replicas: number) => () =>
    kind === 'StatefulSet'
      ? apps.patchNamespacedStatefulSetStatus({ name, namespace: NS, body: { status: { replicas, readyReplicas: replicas } } }, merge)
      : kind === 'Deployment'
        ? apps.patchNamespacedDeploymentStatus({ name, namespace: NS, body: { status: { replicas, readyReplicas: replicas } } }, merge)
        : core.patchNamespacedPodStatus({ name, namespace: NS, body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } }, merge);
  const watchAdds = (path: string, kind: string) =>
    new k8s.Watch(kc).watch(path, {}, (type, o) => {
      if (type === 'ADDED') pending.push(ready(kind, o.metadata.name, o.spec?.replicas ?? 1));
    }, () => undefined);
  await watchAdds(`/apis/apps/v1/namespaces/${NS}/statefulsets`, 'StatefulSet');
  await watchAdds(`/apis/apps/v1/namespaces/${NS}/deployments`, 'Deployment');
  await watchAdds(`/api/v1/namespaces/${NS}/pods`, 'Pod');
  // Eight "kubelets" drain the backlog; failures (object already gone) are ignored.
  for (let i = 0; i < 8; i++) {
    void (async () => {
      for (;;) {
        const job = pending.shift();
        if (job) await job().catch(() => undefined);
        else await new Promise((r) => setTimeout(r, 5));
      }
    })();
  }
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    if (m === 'stats') process.send!({ stats: server.stats() });
  });
  process.send!({ url: server.url });
}

// ---------------------------------------------------------------- parent: operator + driver

async function parent(): Promise<void> {
  const islands = arg('islands', 1000);
  const nodeSets = arg('nodesets', 10_000);
  const workers = arg('workers', 8);
  const machine = machineAtStart();
  const proc: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve) => proc.once('message', (m: any) => resolve(m.url)));
  const childStats = () => new Promise<Record<string, number>>((resolve) => {
    proc.once('message', (m: any) => resolve(m.stats));
    proc.send('stats');
  });

  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'f', server: url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 'f', user: 'u' }], currentContext: 'c' });
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const metrics = operatorMetrics();
  let peakRss = 0;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 100);

  const operator = new Operator(kc, metrics, { namespace: NS, workers, resyncMs: 3_600_000, log: () => undefined });
  await operator.start();
  const t0 = performance.now();
  await pool(islands, 32, (i) =>
    custom.createNamespacedCustomObject({
      ...customObjects('Island', NS),
      body: { apiVersion: API_VERSION, kind: 'Island', metadata: { name: `island-${i}` }, spec: { slurm: { image: 'registry.example/slurm' }, tier: 'tight', boundMs: 2, partitions: [{ name: 'batch' }] } },
    }),
  );
  await pool(nodeSets, 32, (i) =>
    custom.createNamespacedCustomObject({
      ...customObjects('NodeSet', NS),
      body: { apiVersion: API_VERSION, kind: 'NodeSet', metadata: { name: `nodes-${i}` }, spec: { islandRef: { name: `island-${i % islands}` }, replicas: 1, cpus: 32, memoryMb: 128000 } },
    }),
  );
  const createdMs = performance.now() - t0;

  const list = async (kind: Kind) => ((await custom.listNamespacedCustomObject(customObjects(kind, NS))) as { items: any[] }).items;
  let polls = 0;
  for (;;) {
    polls++;
    const [is, ns] = await Promise.all([list('Island'), list('NodeSet')]);
    const islandsDone = is.filter((o) => o.status?.phase === 'Ready' && o.status.observedGeneration === o.metadata.generation && o.status.nodes?.ready === o.status.nodes?.total).length;
    const nodeSetsDone = ns.filter((o) => o.status?.phase === 'Ready' && o.status.observedGeneration === o.metadata.generation).length;
    if (islandsDone === islands && nodeSetsDone === nodeSets && operator.queue.idle) break;
    if (polls % 10 === 0) process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(0)} s: ${islandsDone}/${islands} islands, ${nodeSetsDone}/${nodeSets} node sets ready, queue ${operator.queue.length}\n`);
    if (performance.now() - t0 > 30 * 60_000) throw new Error(`no convergence: ${islandsDone}/${islands} islands, ${nodeSetsDone}/${nodeSets} node sets`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const convergedMs = performance.now() - t0;

  const writes = async () => (await metrics.apiWrites.get()).values.reduce((a, v) => a + v.value, 0);
  const writesAtConvergence = await writes();
  await new Promise((r) => setTimeout(r, 5000));
  const idleWrites = (await writes()) - writesAtConvergence;
  clearInterval(sampler);

  const byVerb = Object.fromEntries((await metrics.apiWrites.get()).values.map((v) => [`${v.labels.verb} ${v.labels.resource}`, v.value]));
  const reconciles = Object.fromEntries((await metrics.reconciles.get()).values.map((v) => [`${v.labels.kind} ${v.labels.result}`, v.value]));
  // The fewest writes that could do this: per island a finalizer, 2 key Secrets, 5 children, 2 status
  // writes (Provisioning, Ready); per node set a finalizer, its pod, 2 status writes (Scaling, Ready).
  const minimumWrites = islands * (1 + 2 + 5 + 2) + nodeSets * (1 + 1 + 2);
  const result = {
    benchmark: 'operators',
    at: new Date().toISOString(),
    machine: machineAtEnd(machine),
    workload: { islands, nodeSets, slurmdPerNodeSet: 1, operatorWorkers: workers },
    createMs: Math.round(createdMs),
    convergenceMs: Math.round(convergedMs),
    peakRssMb: Math.round(peakRss / 2 ** 20),
    peakHeapUsedMb: Math.round(peakHeap / 2 ** 20),
    operatorApiWrites: { total: writesAtConvergence, byVerb, idleWritesIn5sAfterConvergence: idleWrites },
    reconciles,
    baseline: { name: 'minimum writes (finalizer, secrets, children, two status writes per object)', writes: minimumWrites, ratio: Number((writesAtConvergence / minimumWrites).toFixed(2)) },
    apiServerRequests: await childStats(),
    convergencePolls: polls,
  };
  await operator.stop();
  proc.kill();
  const json = JSON.stringify(result, null, 2);
  process.stdout.write(json + '\n');
  // Timestamped like the other benchmarks' files, so a quick run never replaces a full one.
  const file = `operators-${result.at.replace(/[:.]/g, '-')}.json`;
  writeFileSync(fileURLToPath(new URL(import.meta.url.includes('/dist/') ? `../../../../benchmarks/results/${file}` : `../results/${file}`, import.meta.url)), json + '\n');
  process.stderr.write(`converged ${islands} islands + ${nodeSets} node sets in ${(convergedMs / 1000).toFixed(1)} s; peak RSS ${result.peakRssMb} MiB; ${writesAtConvergence} writes (${result.baseline.ratio}× minimum)\n`);
  process.exit(0);
}

await (process.argv.includes('--child') ? child() : parent());
