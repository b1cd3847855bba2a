import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as k8s from '@kubernetes/client-node';
import { CoordinationV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';

import { API_VERSION, customObjects } from '../../contracts/kubernetes/v1alpha1.js';
import { FakeKubeApiServer } from '../../test/support/fake-kube-apiserver/index.js';
import { microTime } from '../src/runtime/leader-election.js';
import { crdText, kubeConfigFor, waitFor } from './helpers.js';

/**
 * What the operators rely on the API server for, asserted through the real client. Runs against the fake
 * always and against a real cluster when KUBECONFIG is set (in a throwaway namespace; the CRDs are applied).
 */
interface Target {
  name: string;
  kc: () => KubeConfig;
  setup: () => Promise<void>;
  teardown: () => Promise<void>;
  fake?: () => FakeKubeApiServer;
}

const NS = `contract-${process.pid}`;
let fake: FakeKubeApiServer | undefined;
const targets: (Target & { skip?: string })[] = [
  {
    name: 'fake API server',
    kc: () => kubeConfigFor(fake!.kubeConfigOptions()),
    setup: async () => {
      fake = await FakeKubeApiServer.start({ watchHistory: 50 });
    },
    teardown: async () => {
      await fake?.close();
    },
    fake: () => fake!,
  },
  {
    name: 'real cluster (KUBECONFIG)',
    skip: process.env.KUBECONFIG ? undefined : 'KUBECONFIG not set',
    kc: () => {
      const kc = new KubeConfig();
      kc.loadFromDefault();
      return kc;
    },
    setup: async () => undefined,
    teardown: async () => undefined,
  },
];

const island = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: 'Island',
  metadata: { name, namespace: NS },
  spec: { slurm: { image: 'registry.example/slurm' }, partitions: [{ name: 'batch' }], ...extra },
});
const ref = (name: string) => ({ ...customObjects('Island', NS), name });
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

for (const target of targets) {
  describe(`API contract: ${target.name}`, { skip: target.skip }, () => {
    let kc: KubeConfig;
    let objects: KubernetesObjectApi;
    let custom: CustomObjectsApi;
    before(async () => {
      await target.setup();
      kc = target.kc();
      objects = KubernetesObjectApi.makeApiClient(kc);
      custom = kc.makeApiClient(CustomObjectsApi);
      for (const plural of ['islands', 'nodesets'] as const) {
        // Typed through client-node's loadYaml: its serializer writes `default` only from the model's `_default`.
        await objects.patch(k8s.loadYaml<k8s.KubernetesObject>(crdText(plural)), undefined, undefined, 'contract-test', true, PatchStrategy.ServerSideApply);
      }
      await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
      // A real server needs a moment to serve a new CRD.
      await waitFor('CRD served', () => custom.listNamespacedCustomObject(customObjects('Island', NS)).then(() => true));
    });
    after(async () => {
      await objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }).catch(() => undefined);
      await target.teardown();
    });

    it('defaults and prunes a custom resource by its CRD schema, and rejects invalid ones with 422 naming the field', async () => {
      const created = await custom.createNamespacedCustomObject({
        ...ref(''),
        body: { ...island('defaults'), spec: { ...island('defaults').spec, bogus: true } },
      });
      assert.equal(created.spec.slurm.version, '22.05');
      assert.equal(created.spec.restApi.replicas, 1);
      assert.equal(created.spec.controller.storage.size, '1Gi', 'nested default inside a defaulted object');
      assert.equal(created.spec.bogus, undefined, 'unknown field pruned');
      await assert.rejects(
        custom.createNamespacedCustomObject({ ...ref(''), body: island('bad', { restApi: { replicas: 11 }, partitions: [] }) }),
        (e: any) => e.code === 422 && /spec\.restApi\.replicas/.test(e.body) && /spec\.partitions/.test(e.body),
      );
    });

    it('bumps generation on spec changes only; the status subresource writes status only', async () => {
      const created = await custom.createNamespacedCustomObject({ ...ref(''), body: { ...island('gen'), status: { phase: 'Ready' } } });
      assert.equal(created.metadata.generation, 1);
      assert.equal(created.status, undefined, 'status is ignored on create');
      const labelled = await custom.patchNamespacedCustomObject(
        { ...ref('gen'), body: { metadata: { labels: { a: 'b' } }, status: { phase: 'Ready' } } },
        merge,
      );
      assert.equal(labelled.metadata.generation, 1, 'metadata change keeps generation');
      assert.equal(labelled.status, undefined, 'main endpoint ignores status');
      const status = await custom.patchNamespacedCustomObjectStatus(
        { ...ref('gen'), body: { status: { phase: 'Ready', observedGeneration: 1 }, spec: { maxNodes: 5 } } },
        merge,
      );
      assert.equal(status.status.phase, 'Ready');
      assert.equal(status.spec.maxNodes, 1024, '/status ignores spec');
      assert.equal(status.metadata.generation, 1);
      const changed = await custom.patchNamespacedCustomObject({ ...ref('gen'), body: { spec: { maxNodes: 5 } } }, merge);
      assert.equal(changed.metadata.generation, 2);
      assert.equal(changed.status.phase, 'Ready', 'status survives spec writes');
      await assert.rejects(
        custom.patchNamespacedCustomObjectStatus({ ...ref('gen'), body: { status: { phase: 'Exploded' } } }, merge),
        (e: any) => e.code === 422,
      );
    });

    it('answers a stale resourceVersion with 409 Conflict, on replace and on a merge patch carrying it', async () => {
      const v1 = await custom.createNamespacedCustomObject({ ...ref(''), body: island('rv') });
      await custom.replaceNamespacedCustomObject({ ...ref('rv'), body: { ...v1, spec: { ...v1.spec, maxNodes: 7 } } });
      await assert.rejects(
        custom.replaceNamespacedCustomObject({ ...ref('rv'), body: { ...v1, spec: { ...v1.spec, maxNodes: 8 } } }),
        (e: any) => e.code === 409,
      );
      await assert.rejects(
        custom.patchNamespacedCustomObject(
          { ...ref('rv'), body: { metadata: { resourceVersion: v1.metadata.resourceVersion }, spec: { maxNodes: 9 } } },
          merge,
        ),
        (e: any) => e.code === 409,
      );
    });

    it('holds an object with finalizers in deletionTimestamp until the last finalizer goes, and forbids new ones', async () => {
      await custom.createNamespacedCustomObject({
        ...ref(''),
        body: { ...island('fin'), metadata: { name: 'fin', namespace: NS, finalizers: ['island.archipelago.dev/test'] } },
      });
      await custom.deleteNamespacedCustomObject(ref('fin'));
      const held = await custom.getNamespacedCustomObject(ref('fin'));
      assert.ok(held.metadata.deletionTimestamp);
      await assert.rejects(
        custom.patchNamespacedCustomObject({ ...ref('fin'), body: { metadata: { finalizers: ['island.archipelago.dev/test', 'x.example/other'] } } }, merge),
        (e: any) => e.code === 422 || e.code === 403,
      );
      await custom.patchNamespacedCustomObject({ ...ref('fin'), body: { metadata: { finalizers: null } } }, merge);
      await waitFor('gone', () =>
        custom.getNamespacedCustomObject(ref('fin')).then(
          () => false,
          (e) => e.code === 404,
        ),
      );
    });

    it('server-side apply creates, is a no-op when repeated, and removes fields the manager stopped applying', async () => {
      const cm = (data: Record<string, string>): k8s.KubernetesObject & { data: Record<string, string> } => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'ssa', namespace: NS },
        data,
      });
      const a = await objects.patch(cm({ one: '1', two: '2' }), undefined, undefined, 'contract-test', true, PatchStrategy.ServerSideApply);
      const b = await objects.patch(cm({ one: '1', two: '2' }), undefined, undefined, 'contract-test', true, PatchStrategy.ServerSideApply);
      assert.equal(b.metadata?.resourceVersion, a.metadata?.resourceVersion, 'unchanged apply does not write');
      const c = await objects.patch(cm({ one: '1' }), undefined, undefined, 'contract-test', true, PatchStrategy.ServerSideApply);
      assert.deepEqual((c as any).data, { one: '1' });
      await assert.rejects(
        objects.patch(cm({ one: '1' }), undefined, undefined, undefined, undefined, PatchStrategy.ServerSideApply),
        (e: any) => e.code === 400,
      );
    });

    it('refuses strategic merge patches on custom resources (415) and objects in a missing namespace (404)', async () => {
      await custom.createNamespacedCustomObject({ ...ref(''), body: island('smp') });
      await assert.rejects(
        custom.patchNamespacedCustomObject(
          { ...ref('smp'), body: { spec: { maxNodes: 2 } } },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        ),
        (e: any) => e.code === 415,
      );
      await assert.rejects(
        custom.createNamespacedCustomObject({ ...ref(''), namespace: `${NS}-missing`, body: { ...island('nowhere'), metadata: { name: 'nowhere' } } }),
        (e: any) => e.code === 404,
      );
    });

    it('deletes dependents with their owner (background cascade)', async () => {
      const owner = await custom.createNamespacedCustomObject({ ...ref(''), body: island('owner') });
      await objects.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'owned',
          namespace: NS,
          ownerReferences: [{ apiVersion: 'archipelago.dev/v1alpha1', kind: 'Island', name: 'owner', uid: owner.metadata.uid, controller: true }],
        },
      });
      await custom.deleteNamespacedCustomObject(ref('owner'));
      await waitFor(
        'dependent collected',
        () =>
          objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: NS } }).then(
            () => false,
            (e) => e.code === 404,
          ),
        30_000,
      );
    });

    it('rejects a Lease renewTime with millisecond precision and accepts MicroTime', async () => {
      const leases = kc.makeApiClient(CoordinationV1Api);
      const body = (renewTime: string) => ({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'micro' },
        spec: { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime: renewTime as unknown as Date },
      });
      await assert.rejects(leases.createNamespacedLease({ namespace: NS, body: body(new Date().toISOString()) }), (e: any) => e.code === 400);
      const ok = await leases.createNamespacedLease({ namespace: NS, body: body(microTime(new Date())) });
      assert.match(String(ok.spec?.renewTime), /\.\d{6}Z$/);
    });

    it('streams watch events from a resourceVersion, with bookmarks when asked', async () => {
      const start = await custom.listNamespacedCustomObject(customObjects('Island', NS));
      const seen: string[] = [];
      const watch = new Watch(kc);
      const req = await watch.watch(
        `/apis/archipelago.dev/v1alpha1/namespaces/${NS}/islands`,
        { resourceVersion: start.metadata.resourceVersion, allowWatchBookmarks: true },
        (type, obj) => seen.push(`${type}:${obj.metadata?.name ?? ''}`),
        () => undefined,
      );
      await custom.createNamespacedCustomObject({ ...ref(''), body: island('watched') });
      await custom.patchNamespacedCustomObject({ ...ref('watched'), body: { spec: { maxNodes: 3 } } }, merge);
      await waitFor('events', () => seen.includes('ADDED:watched') && seen.includes('MODIFIED:watched'));
      if (target.fake) await waitFor('bookmark', () => seen.some((s) => s.startsWith('BOOKMARK')), 5000);
      req.abort();
    });

    it(
      'answers a watch from a compacted resourceVersion with 410 Gone',
      { skip: target.fake ? undefined : 'compaction cannot be forced on a real cluster' },
      async () => {
        const server = target.fake!();
        const start = await custom.listNamespacedCustomObject(customObjects('Island', NS));
        await custom.createNamespacedCustomObject({ ...ref(''), body: island('compacted') });
        server.compact(0);
        const errors: number[] = [];
        await new Promise<void>((resolve) => {
          void new Watch(kc).watch(
            `/apis/archipelago.dev/v1alpha1/namespaces/${NS}/islands`,
            { resourceVersion: start.metadata.resourceVersion },
            (type, obj) => {
              if (type === 'ERROR') errors.push(obj.code);
            },
            () => resolve(),
          );
        });
        assert.deepEqual(errors, [410]);
      },
    );
  });
}
