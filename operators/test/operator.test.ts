import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as k8s from '@kubernetes/client-node';

import { API_VERSION, customObjects, type Kind } from '../../contracts/kubernetes/v1alpha1.js';
import { FakeKubeApiServer } from '../../test/support/fake-kube-apiserver/index.js';
import { LeaderElector, microTime } from '../src/runtime/leader-election.js';
import { operatorMetrics } from '../src/runtime/metrics.js';
import { Operator } from '../src/runtime/operator.js';
import { crdText, kubeConfigFor, waitFor } from './helpers.js';

const NS = 'default';
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const cr = (kind: Kind, name = '') => ({ ...customObjects(kind, NS), name });

describe('operator against the fake API server', () => {
  let server: FakeKubeApiServer;
  let kc: k8s.KubeConfig;
  let operator: Operator;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  const metrics = operatorMetrics();
  const logs: string[] = [];

  before(async () => {
    server = await FakeKubeApiServer.start({ watchHistory: 200 });
    kc = kubeConfigFor(server.kubeConfigOptions());
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    for (const p of ['islands', 'nodesets'] as const) await objects.create(k8s.loadYaml<k8s.KubernetesObject>(crdText(p)));
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    operator = new Operator(kc, metrics, { namespace: NS, workers: 2, resyncMs: 60_000, log: (l) => logs.push(l) });
    await operator.start();
  });
  after(async () => {
    await operator.stop();
    await server.close();
    if (logs.length) console.log(logs.join('\n'));
  });

  const island = () => custom.getNamespacedCustomObject(cr('Island', 'tight-1'));
  const nodeSetPods = async (name: string) => (await core.listNamespacedPod({ namespace: NS, labelSelector: `archipelago.dev/nodeset=${name}` })).items;
  /** Plays the StatefulSet and Deployment controllers: reports the island's daemons ready. */
  async function daemonsReady(ready: number) {
    await apps.patchNamespacedStatefulSetStatus({ name: 'tight-1-slurmctld', namespace: NS, body: { status: { replicas: 1, readyReplicas: ready } } }, merge);
    await apps.patchNamespacedDeploymentStatus({ name: 'tight-1-slurmrestd', namespace: NS, body: { status: { replicas: 1, readyReplicas: ready } } }, merge);
  }

  it('provisions an island: finalizer, key Secrets, children by server-side apply, status Provisioning', async () => {
    await custom.createNamespacedCustomObject({
      ...cr('Island'),
      body: {
        apiVersion: API_VERSION,
        kind: 'Island',
        metadata: { name: 'tight-1' },
        spec: { slurm: { image: 'registry.example/slurm' }, partitions: [{ name: 'batch' }] },
      },
    });
    const provisioning = await waitFor('Provisioning', async () => ((await island()).status?.phase === 'Provisioning' ? island() : undefined));
    assert.deepEqual(provisioning.metadata.finalizers, ['island.archipelago.dev/nodesets-drained']);
    assert.equal(provisioning.status.observedGeneration, 1);
    const sts = await apps.readNamespacedStatefulSet({ name: 'tight-1-slurmctld', namespace: NS });
    assert.equal(sts.metadata?.ownerReferences?.[0].uid, provisioning.metadata.uid);
    const cm = await core.readNamespacedConfigMap({ name: 'tight-1-slurm-config', namespace: NS });
    assert.match(cm.data?.['slurm.conf'] ?? '', /^ClusterName=tight-1$/m);
    const munge = await core.readNamespacedSecret({ name: 'tight-1-munge', namespace: NS });
    assert.equal(Buffer.from(munge.data?.['munge.key'] ?? '', 'base64').length, 1024);
  });

  it('reports Ready once the daemons are, with endpoints, and records an Event', async () => {
    await daemonsReady(1);
    const ready = await waitFor('Ready', async () => ((await island()).status?.phase === 'Ready' ? island() : undefined));
    assert.equal(ready.status.endpoints.restUrl, 'http://tight-1-slurmrestd.default.svc.cluster.local:6820');
    assert.equal(ready.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    // The Event is written right after the status, so it may trail it by a moment.
    await waitFor('Ready event', async () =>
      (await core.listNamespacedEvent({ namespace: NS })).items.some((e) => e.reason === 'Ready' && e.involvedObject.name === 'tight-1' && e.type === 'Normal'),
    );
  });

  it('applies a spec change to the children, bumps observedGeneration, and never rotates the munge key', async () => {
    const before = (await core.readNamespacedSecret({ name: 'tight-1-munge', namespace: NS })).data?.['munge.key'];
    await custom.patchNamespacedCustomObject({ ...cr('Island', 'tight-1'), body: { spec: { restApi: { replicas: 2 } } } }, merge);
    await waitFor('2 REST replicas', async () => (await apps.readNamespacedDeployment({ name: 'tight-1-slurmrestd', namespace: NS })).spec?.replicas === 2);
    const i = await waitFor('observedGeneration 2', async () => ((await island()).status?.observedGeneration === 2 ? island() : undefined));
    assert.deepEqual(i.status.restApi, { ready: 1, total: 2 });
    assert.equal((await core.readNamespacedSecret({ name: 'tight-1-munge', namespace: NS })).data?.['munge.key'], before);
  });

  it('runs a node set as slurmd pods, scales down highest ordinal first with a drain reason, and counts nodes on the island', async () => {
    await custom.createNamespacedCustomObject({
      ...cr('NodeSet'),
      body: { apiVersion: API_VERSION, kind: 'NodeSet', metadata: { name: 'prov-a' }, spec: { islandRef: { name: 'tight-1' }, replicas: 3, cpus: 8 } },
    });
    await waitFor('3 pods', async () => (await nodeSetPods('prov-a')).length === 3);
    for (const p of await nodeSetPods('prov-a')) {
      await core.patchNamespacedPodStatus(
        { name: p.metadata!.name!, namespace: NS, body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } },
        merge,
      );
    }
    await waitFor('island counts 3 ready nodes', async () => (await island()).status?.nodes?.ready === 3);
    let drained: string | undefined;
    const watch = await new k8s.Watch(kc).watch(
      `/api/v1/namespaces/${NS}/pods`,
      {},
      (type, o) => {
        if (type === 'DELETED') drained = `${o.metadata.name}:${o.metadata.annotations?.['archipelago.dev/drain-reason']}`;
      },
      () => undefined,
    );
    await custom.patchNamespacedCustomObject({ ...cr('NodeSet', 'prov-a'), body: { spec: { replicas: 2 } } }, merge);
    await waitFor(
      'pod 2 gone',
      async () =>
        (await nodeSetPods('prov-a'))
          .map((p) => p.metadata?.name)
          .sort()
          .join() === 'prov-a-0,prov-a-1',
    );
    await waitFor('drain seen', () => drained);
    assert.equal(drained, 'prov-a-2:node set scaled down');
    watch.abort();
    const ns = await waitFor('NodeSet Ready', async () => {
      const o = await custom.getNamespacedCustomObject(cr('NodeSet', 'prov-a'));
      return o.status?.phase === 'Ready' && o.status.replicas === 2 ? o : undefined;
    });
    assert.deepEqual(ns.metadata.finalizers, ['nodeset.archipelago.dev/slurmd-drained']);
  });

  it('keeps the island until its node sets have drained, then lets both go', async () => {
    await custom.deleteNamespacedCustomObject(cr('Island', 'tight-1'));
    await waitFor('Terminating', async () => (await island()).status?.phase === 'Terminating');
    assert.equal((await nodeSetPods('prov-a')).length, 2, 'island deletion alone does not touch the nodes');
    await custom.deleteNamespacedCustomObject(cr('NodeSet', 'prov-a'));
    await waitFor('node set gone', () =>
      custom.getNamespacedCustomObject(cr('NodeSet', 'prov-a')).then(
        () => false,
        (e) => e.code === 404,
      ),
    );
    assert.equal((await nodeSetPods('prov-a')).length, 0);
    await waitFor('island gone', () =>
      island().then(
        () => false,
        (e) => e.code === 404,
      ),
    );
    await waitFor('children collected', () =>
      apps.readNamespacedStatefulSet({ name: 'tight-1-slurmctld', namespace: NS }).then(
        () => false,
        (e) => e.code === 404,
      ),
    );
    const text = await metrics.registry.getSingleMetricAsString('archipelago_operator_reconcile_total');
    assert.match(text, /kind="Island",result="ok"/);
  });

  it('survives a watch expiring with 410 Gone: the informer relists and keeps reconciling', async () => {
    server.compact(0);
    await custom.createNamespacedCustomObject({
      ...cr('Island'),
      body: { apiVersion: API_VERSION, kind: 'Island', metadata: { name: 'after-gone' }, spec: { slurm: { image: 'r/slurm' }, partitions: [{ name: 'p' }] } },
    });
    await waitFor('reconciled', async () => (await custom.getNamespacedCustomObject(cr('Island', 'after-gone'))).status?.phase === 'Provisioning');
  });
});

describe('leader election', () => {
  it('elects one of two candidates, and the other takes over when the leader releases the lease', async () => {
    const server = await FakeKubeApiServer.start();
    const api = kubeConfigFor(server.kubeConfigOptions()).makeApiClient(k8s.CoordinationV1Api);
    const leading = new Set<string>();
    const make = (id: string) =>
      new LeaderElector(api, {
        namespace: 'default',
        name: 'archipelago-operator',
        identity: id,
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 100,
        onStartedLeading: () => leading.add(id),
        onStoppedLeading: () => leading.delete(id),
      });
    const a = make('a');
    const b = make('b');
    a.start();
    await waitFor('a leads', () => leading.has('a'));
    b.start();
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual([...leading], ['a'], 'b must not lead while a renews');
    const lease = await api.readNamespacedLease({ name: 'archipelago-operator', namespace: 'default' });
    assert.match(String(lease.spec?.renewTime), /\.\d{6}Z$/);
    await a.stop();
    await waitFor('b leads', () => leading.has('b'), 5000);
    const after = await api.readNamespacedLease({ name: 'archipelago-operator', namespace: 'default' });
    assert.equal(after.spec?.holderIdentity, 'b');
    assert.equal(after.spec?.leaseTransitions, 1);
    await b.stop();
    await server.close();
  });

  it('takes over a lease whose holder stopped renewing, and leaves a live one alone', async () => {
    const server = await FakeKubeApiServer.start();
    const api = kubeConfigFor(server.kubeConfigOptions()).makeApiClient(k8s.CoordinationV1Api);
    const lease = (name: string, renewedAgoMs: number) =>
      api.createNamespacedLease({
        namespace: 'default',
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name },
          spec: {
            holderIdentity: 'crashed',
            leaseDurationSeconds: 1,
            leaseTransitions: 3,
            renewTime: microTime(new Date(Date.now() - renewedAgoMs)) as unknown as Date,
          },
        },
      });
    await lease('stale', 60_000);
    await lease('live', -60_000); // renewed "in the future": valid for the whole test
    const leading: string[] = [];
    const make = (name: string) =>
      new LeaderElector(api, {
        namespace: 'default',
        name,
        identity: 'c',
        retryPeriodMs: 50,
        onStartedLeading: () => leading.push(name),
        onStoppedLeading: () => undefined,
      });
    const stale = make('stale');
    const live = make('live');
    stale.start();
    live.start();
    await waitFor('stale lease taken', () => leading.includes('stale'));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(leading, ['stale']);
    const taken = await api.readNamespacedLease({ name: 'stale', namespace: 'default' });
    assert.equal(taken.spec?.holderIdentity, 'c');
    assert.equal(taken.spec?.leaseTransitions, 4);
    assert.equal((await api.readNamespacedLease({ name: 'live', namespace: 'default' })).spec?.holderIdentity, 'crashed');
    await stale.stop();
    await live.stop();
    await server.close();
  });
});
