import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';

import { API_VERSION, customObjects, NODESET_FINALIZER, PLURALS, type Kind } from '../../contracts/kubernetes/v1alpha1';
import { createKubernetesIslandLauncher } from '../../src/adapters/kube/kubernetes-island-launcher';
import { gpusFromGres, nodeSetName } from '../../src/adapters/kube/kubernetes-island-resources';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver';

/**
 * The Kubernetes island launcher against the fake API server. The test plays the operator's part of the
 * contract (status writes, the NodeSet finalizer) so what is checked here is what the launcher writes and
 * what it waits for; the operator's own behaviour is tested in operators/test.
 */
const ROOT = join(__dirname, '..', '..', '..');
const NS = 'default';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const cr = (kind: Kind, name = '') => ({ ...customObjects(kind, NS), name });

describe('Kubernetes island launcher', () => {
  let server: FakeKubeApiServer;
  let kc: KubeConfig;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;

  before(async () => {
    server = await FakeKubeApiServer.start();
    kc = new KubeConfig();
    kc.loadFromOptions(server.kubeConfigOptions());
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const plural of Object.values(PLURALS)) {
      await objects.create(loadYaml<KubernetesObject>(readFileSync(join(ROOT, 'k8s', 'crds', `${plural}.archipelago.dev.yaml`), 'utf8')));
    }
    custom = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
  });
  after(() => server.close());

  const launcher = () => createKubernetesIslandLauncher(kc, { namespace: NS, slurmImage: 'registry.example/slurm', readyTimeoutMs: 3000, pollMs: 20 });

  /** Acts as the island operator once the Island exists: JWT Secret, then Ready status for its generation. */
  async function operateIsland(name: string, jwt: Buffer) {
    for (;;) {
      const island = await custom.getNamespacedCustomObject(cr('Island', name)).catch(() => undefined);
      if (island) {
        await core
          .createNamespacedSecret({
            namespace: NS,
            body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-jwt` }, data: { 'jwt_hs256.key': jwt.toString('base64') } },
          })
          .catch(() => undefined);
        await custom.patchNamespacedCustomObjectStatus(
          {
            ...cr('Island', name),
            body: {
              status: {
                phase: 'Ready',
                observedGeneration: island.metadata.generation,
                endpoints: {
                  restUrl: `http://${name}-slurmrestd.default.svc.cluster.local:6820`,
                  controller: 'c:6817',
                  jwtSecret: { name: `${name}-jwt`, key: 'jwt_hs256.key' },
                },
              },
            },
          },
          merge,
        );
        return island;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('ensureIsland writes the Island, waits for Ready and returns the REST endpoint and the JWT key', async () => {
    const jwt = Buffer.alloc(32, 9);
    const [launched, island] = await Promise.all([
      launcher().ensureIsland({ name: 'tight-1', tier: 'tight', boundMs: 2, partitions: ['batch', 'long'], keepState: false }),
      operateIsland('tight-1', jwt),
    ]);
    assert.deepEqual(launched, {
      name: 'tight-1',
      restUrl: 'http://tight-1-slurmrestd.default.svc.cluster.local:6820',
      jwtKey: jwt,
      partitions: ['batch', 'long'],
    });
    assert.deepEqual(island.spec.partitions, [{ name: 'batch', default: true }, { name: 'long' }]);
    assert.equal(island.spec.slurm.version, '22.05', 'CRD default applied by the server');
    // Idempotent: the same decision again is success and changes nothing.
    const again = await launcher().ensureIsland({ name: 'tight-1', tier: 'tight', boundMs: 2, partitions: ['batch', 'long'], keepState: false });
    assert.equal(again.restUrl, launched.restUrl);
    assert.equal((await custom.getNamespacedCustomObject(cr('Island', 'tight-1'))).metadata.generation, 1);
  });

  it('ensureIsland fails with the phase when the island does not become ready in time', async () => {
    await assert.rejects(
      createKubernetesIslandLauncher(kc, { namespace: NS, slurmImage: 'r/s', readyTimeoutMs: 200, pollMs: 20 }).ensureIsland({
        name: 'stuck',
        tier: 'loose',
        boundMs: 30,
        partitions: ['p'],
        keepState: false,
      }),
      /island stuck not ready after 200 ms \(phase none/,
    );
  });

  it('joinNode writes one NodeSet per member with its inventory, and resolves once slurmd is ready', async () => {
    const join = launcher().joinNode('tight-1', {
      node: 'gpu-node-17',
      cpus: 64,
      memoryMb: 512000,
      gres: ['gpu:A100:4'],
      features: ['eu-west', 'nvme', 'bad feature'],
    });
    const name = nodeSetName('tight-1', 'gpu-node-17');
    let ns: any;
    for (;;) {
      ns = await custom.getNamespacedCustomObject(cr('NodeSet', name)).catch(() => undefined);
      if (ns) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(ns.spec.nodeNames, ['gpu-node-17']);
    assert.deepEqual(ns.spec.gpus, { count: 4, type: 'a100', resourceName: 'nvidia.com/gpu' });
    assert.deepEqual(ns.spec.features, ['eu-west', 'nvme']);
    assert.deepEqual(ns.spec.nodeSelector, { 'archipelago.dev/node': 'gpu-node-17' });
    let settled = false;
    void join.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(settled, false, 'not resolved before slurmd is ready');
    await custom.patchNamespacedCustomObjectStatus(
      { ...cr('NodeSet', name), body: { status: { observedGeneration: 1, readyReplicas: 1, replicas: 1 } } },
      merge,
    );
    await join;
  });

  it('removeNode passes the drain reason, returns false while jobs keep the node, true once it has left', async () => {
    const name = nodeSetName('tight-1', 'gpu-node-17');
    await custom.patchNamespacedCustomObject({ ...cr('NodeSet', name), body: { metadata: { finalizers: [NODESET_FINALIZER] } } }, merge);
    const l = launcher();
    assert.equal(await l.removeNode('tight-1', 'gpu-node-17', { reason: 'regroup: rtt 9 ms', timeoutMs: 150, force: false }), false);
    const draining = await custom.getNamespacedCustomObject(cr('NodeSet', name));
    assert.ok(draining.metadata.deletionTimestamp);
    assert.equal(draining.metadata.annotations['archipelago.dev/drain-reason'], 'regroup: rtt 9 ms');
    const removal = l.removeNode('tight-1', 'gpu-node-17', { reason: 'regroup: rtt 9 ms', timeoutMs: 3000, force: false });
    // The operator finishes the drain: its finalizer goes, the object goes.
    await custom.patchNamespacedCustomObject({ ...cr('NodeSet', name), body: { metadata: { finalizers: null } } }, merge);
    assert.equal(await removal, true);
    assert.equal(await l.removeNode('tight-1', 'gpu-node-17', { reason: 'again', timeoutMs: 10, force: false }), true, 'already gone is success');
  });

  it('removeNode with force ends the drain by deleting the slurmd pods at once', async () => {
    const name = nodeSetName('tight-1', 'busy-node');
    await custom.createNamespacedCustomObject({
      ...cr('NodeSet'),
      body: { apiVersion: API_VERSION, kind: 'NodeSet', metadata: { name, finalizers: [NODESET_FINALIZER] }, spec: { islandRef: { name: 'tight-1' } } },
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${name}-0`, labels: { 'archipelago.dev/nodeset': name } },
        spec: { containers: [{ name: 'slurmd', image: 'x' }] },
      },
    });
    // Plays the operator: once the pods are gone the finalizer goes.
    const operator = (async () => {
      for (;;) {
        const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: `archipelago.dev/nodeset=${name}` });
        if (pods.items.length === 0) {
          await custom.patchNamespacedCustomObject({ ...cr('NodeSet', name), body: { metadata: { finalizers: null } } }, merge);
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    assert.equal(await launcher().removeNode('tight-1', 'busy-node', { reason: 'provider left', timeoutMs: 100, force: true }), true);
    await operator;
  });

  it('retireIsland deletes the Island and waits until it is gone', async () => {
    await launcher().retireIsland('tight-1');
    await assert.rejects(custom.getNamespacedCustomObject(cr('Island', 'tight-1')), (e: any) => e.code === 404);
    await launcher().retireIsland('tight-1');
  });

  it('names node sets as DNS labels and reads GPUs from GRES', () => {
    assert.equal(nodeSetName('tight-1', 'n1'), 'tight-1-n1');
    assert.match(nodeSetName('tight-1', 'Node7.Example'), /^tight-1-node7-example-[0-9a-f]{8}$/);
    assert.notEqual(nodeSetName('a', 'b.c'), nodeSetName('a', 'b-c'), 'altered names cannot collide with plain ones');
    assert.ok(nodeSetName('island', 'x'.repeat(80)).length <= 50);
    assert.deepEqual(gpusFromGres(['gpu:2', 'gpu:h100:1', 'license:x:1']), { count: 3, type: 'h100' });
    assert.equal(gpusFromGres(['mps:100']), undefined);
  });
});

/**
 * The launcher with the real operator: control plane ↔ custom resources ↔ operator, end to end. The operator is
 * ESM (operators/tsconfig.json, built by scripts/test.sh before this suite); this CommonJS test loads it
 * through require(esm). The test plays only the kubelet and the workload controllers (readiness).
 */
interface OperatorModule {
  Operator: new (kc: KubeConfig, metrics: unknown, options: { namespace: string; workers?: number }) => { start(): Promise<void>; stop(): Promise<void> };
}
interface MetricsModule {
  operatorMetrics: () => unknown;
}

describe('Kubernetes island launcher with the operator', () => {
  let server: FakeKubeApiServer;
  let kc: KubeConfig;
  let operator: { start(): Promise<void>; stop(): Promise<void> };
  let kubeletRunning = true;
  let kubelet: Promise<void>;

  before(async () => {
    const built = join(ROOT, 'operators', 'dist', 'operators', 'src', 'runtime');
    if (!existsSync(join(built, 'operator.js'))) throw new Error('operators not built: run npx tsc -p operators/tsconfig.json first');
    // The operators build on their own (operators/tsconfig.json); this suite loads their output.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { Operator } = require(join(built, 'operator.js')) as OperatorModule;
    const { operatorMetrics } = require(join(built, 'metrics.js')) as MetricsModule;
    /* eslint-enable @typescript-eslint/no-require-imports */
    server = await FakeKubeApiServer.start();
    kc = new KubeConfig();
    kc.loadFromOptions(server.kubeConfigOptions());
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const plural of Object.values(PLURALS)) {
      await objects.create(loadYaml<KubernetesObject>(readFileSync(join(ROOT, 'k8s', 'crds', `${plural}.archipelago.dev.yaml`), 'utf8')));
    }
    operator = new Operator(kc, operatorMetrics(), { namespace: NS, workers: 2 });
    await operator.start();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    kubelet = (async () => {
      while (kubeletRunning) {
        for (const s of (await apps.listNamespacedStatefulSet({ namespace: NS })).items) {
          if (!s.status?.readyReplicas)
            await apps.patchNamespacedStatefulSetStatus({ name: s.metadata!.name!, namespace: NS, body: { status: { replicas: 1, readyReplicas: 1 } } }, merge);
        }
        for (const d of (await apps.listNamespacedDeployment({ namespace: NS })).items) {
          if (d.status?.readyReplicas !== d.spec?.replicas)
            await apps.patchNamespacedDeploymentStatus(
              { name: d.metadata!.name!, namespace: NS, body: { status: { replicas: d.spec?.replicas, readyReplicas: d.spec?.replicas } } },
              merge,
            );
        }
        for (const p of (await core.listNamespacedPod({ namespace: NS })).items) {
          if (!p.status?.conditions?.length)
            await core
              .patchNamespacedPodStatus(
                { name: p.metadata!.name!, namespace: NS, body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } },
                merge,
              )
              .catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  });
  after(async () => {
    kubeletRunning = false;
    await kubelet;
    await operator.stop();
    await server.close();
  });

  it('launches an island, joins and removes a node, and retires the island', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const l = createKubernetesIslandLauncher(kc, { namespace: NS, slurmImage: 'registry.example/slurm', readyTimeoutMs: 10_000, pollMs: 20 });
    const launched = await l.ensureIsland({ name: 'loose-7', tier: 'loose', boundMs: 30, partitions: ['batch'], keepState: false });
    assert.equal(launched.restUrl, 'http://loose-7-slurmrestd.default.svc.cluster.local:6820');
    const jwt = await core.readNamespacedSecret({ name: 'loose-7-jwt', namespace: NS });
    assert.deepEqual(launched.jwtKey, Buffer.from(jwt.data!['jwt_hs256.key'], 'base64'));
    assert.equal(launched.jwtKey.length, 32, 'the key the operator generated');

    await l.joinNode('loose-7', { node: 'cpu-3', cpus: 16, memoryMb: 64000, gres: [], features: ['eu-west'] });
    const pod = await core.readNamespacedPod({ name: 'loose-7-cpu-3-0', namespace: NS });
    assert.equal(pod.spec?.hostname, 'cpu-3');
    assert.deepEqual(pod.spec?.containers[0].args?.slice(0, 5), ['slurmd', '-D', '-Z', '-N', 'cpu-3']);
    assert.deepEqual(pod.spec?.nodeSelector, { 'archipelago.dev/node': 'cpu-3' });

    // An admin drain reaches the slurmd pod (its slurmd-run drains SLURM from the downward API file), and a resume clears it.
    const drainedOnPod = async () =>
      (await core.readNamespacedPod({ name: 'loose-7-cpu-3-0', namespace: NS })).metadata?.annotations?.['archipelago.dev/drained'];
    const eventually = async (want: string | undefined) => {
      for (let i = 0; i < 200 && (await drainedOnPod()) !== want; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(await drainedOnPod(), want);
    };
    await l.setDrained('loose-7', 'cpu-3', true, 'maintenance window');
    await eventually('maintenance window');
    await l.setDrained('loose-7', 'cpu-3', false, 'resumed');
    await eventually(undefined);

    assert.equal(await l.removeNode('loose-7', 'cpu-3', { reason: 'provider left', timeoutMs: 10_000, force: false }), true);
    await assert.rejects(core.readNamespacedPod({ name: 'loose-7-cpu-3-0', namespace: NS }), (e: any) => e.code === 404);
    await l.retireIsland('loose-7');
    await assert.rejects(
      kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ name: 'loose-7-slurmctld', namespace: NS }),
      (e: any) => e.code === 404,
      'children collected',
    );
  });
});
