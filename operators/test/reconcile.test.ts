import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BUILTIN_SCHEMAS, validate } from '../../test/support/fake-kube-apiserver/index.js';
import { ANNOTATIONS, LABELS } from '../../contracts/kubernetes/v1alpha1.js';
import { setCondition } from '../src/reconcile/conditions.js';
import { desiredIslandChildren, generatedSecrets, islandStatus } from '../src/reconcile/island.js';
import { dynamicNodeConf, nodeSetStatus, planNodeSet, slurmdPod, type ObservedPod } from '../src/reconcile/nodeset.js';
import { renderSlurmConf } from '../src/reconcile/slurm-conf.js';
import { island, nodeSet } from './helpers.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const LATER = new Date('2026-11-25T12:05:00Z');

function pod(name: string, ordinal: number, extra: Partial<ObservedPod['metadata']> = {}, status: ObservedPod['status'] = {}): ObservedPod {
  return { metadata: { name, labels: { [LABELS.ordinal]: String(ordinal) }, ...extra }, status };
}
const ready = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };

describe('slurm.conf', () => {
  it('names the StatefulSet pod as controller, registers nodes dynamically and marks the default partition', () => {
    const conf = renderSlurmConf(island());
    assert.match(conf, /^ClusterName=tight-1$/m);
    assert.match(conf, /^SlurmctldHost=tight-1-slurmctld-0\(tight-1-slurmctld-0\.tight-1-slurmctld\.default\.svc\.cluster\.local\)$/m);
    assert.match(conf, /^MaxNodeCount=1024$/m, 'CRD default for maxNodes');
    assert.match(conf, /^SlurmctldParameters=enable_configless$/m);
    assert.match(conf, /^PartitionName=batch Nodes=ALL Default=NO MaxTime=INFINITE State=UP$/m);
    assert.match(conf, /^PartitionName=gpu Nodes=ALL Default=YES MaxTime=60 State=UP$/m);
    assert.match(conf, /^AccountingStorageType=accounting_storage\/none$/m);
  });

  it('points at slurmdbd when accounting is on, and the first partition is the default when none is marked', () => {
    const conf = renderSlurmConf(island('acct', { accounting: { enabled: true }, partitions: [{ name: 'a' }, { name: 'b' }] }));
    assert.match(conf, /^AccountingStorageHost=acct-slurmdbd$/m);
    assert.match(conf, /^PartitionName=a .*Default=YES/m);
    assert.match(conf, /^PartitionName=b .*Default=NO/m);
  });
});

describe('island children', () => {
  it('are owned by the island and valid against the built-in schema subset, strictly', () => {
    const children = desiredIslandChildren(island('acct', { accounting: { enabled: true } }));
    assert.deepEqual(children.map((c) => `${c.kind}/${c.metadata.name}`).sort(), [
      'ConfigMap/acct-slurm-config',
      'Deployment/acct-slurmdbd',
      'Deployment/acct-slurmrestd',
      'Service/acct-mariadb',
      'Service/acct-slurmctld',
      'Service/acct-slurmdbd',
      'Service/acct-slurmrestd',
      'StatefulSet/acct-mariadb',
      'StatefulSet/acct-slurmctld',
    ]);
    for (const c of children) {
      assert.deepEqual(validate(BUILTIN_SCHEMAS[c.kind], c, '', { strict: true }), [], `${c.kind}/${c.metadata.name}`);
      assert.equal(c.metadata.ownerReferences?.[0].uid, 'uid-acct');
      assert.equal(c.metadata.ownerReferences?.[0].controller, true);
    }
  });

  it('roll the daemons when slurm.conf changes, and only then', () => {
    const hash = (i: ReturnType<typeof island>) =>
      (desiredIslandChildren(i).find((c) => c.kind === 'StatefulSet') as any).spec.template.metadata.annotations[ANNOTATIONS.configHash];
    assert.equal(hash(island()), hash(island()));
    assert.notEqual(hash(island()), hash(island('tight-1', { maxNodes: 64 })));
    assert.equal(hash(island()), hash(island('tight-1', { restApi: { replicas: 3 } })), 'REST replicas are not in slurm.conf');
  });

  it('use referenced key Secrets instead of generating them', () => {
    const withRefs = island('byo', { secrets: { mungeKeyRef: { name: 'm', key: 'k' }, jwtKeyRef: { name: 'j', key: 'jk' } } });
    assert.deepEqual(
      generatedSecrets(withRefs, (n) => Buffer.alloc(n)),
      [],
    );
    const sts = desiredIslandChildren(withRefs).find((c) => c.kind === 'StatefulSet') as any;
    const volumes = sts.spec.template.spec.volumes;
    assert.equal(volumes.find((v: any) => v.name === 'munge-key').secret.secretName, 'm');
    assert.equal(volumes.find((v: any) => v.name === 'jwt-key').secret.items[0].key, 'jk');
  });

  it('generate a 1024-byte munge key, a 32-byte JWT key and, with accounting, a slurmdbd.conf carrying the password', () => {
    const secrets = generatedSecrets(island('acct', { accounting: { enabled: true } }), (n) => Buffer.alloc(n, 7));
    const data = (name: string, key: string) => Buffer.from((secrets.find((s) => s.metadata.name === name) as any).data[key], 'base64');
    assert.equal(data('acct-munge', 'munge.key').length, 1024);
    assert.equal(data('acct-jwt', 'jwt_hs256.key').length, 32);
    const password = data('acct-slurmdbd', 'password').toString();
    assert.ok(data('acct-slurmdbd', 'slurmdbd.conf').toString().includes(`StoragePass=${password}\n`));
  });
});

describe('island status', () => {
  it('goes Pending → Provisioning → Ready, then Degraded when a daemon is lost, keeping transition times', () => {
    const i = island();
    const pending = islandStatus(i, { nodeSets: [] }, NOW);
    assert.equal(pending.phase, 'Pending');
    const provisioning = islandStatus(i, { controller: { readyReplicas: 0 }, restApi: { readyReplicas: 0 }, nodeSets: [] }, NOW);
    assert.equal(provisioning.phase, 'Provisioning');
    assert.equal(provisioning.conditions?.find((c) => c.type === 'Degraded')?.status, 'False', 'a first rollout is not degraded');

    const up = islandStatus(
      { ...i, status: provisioning },
      {
        controller: { readyReplicas: 1 },
        restApi: { readyReplicas: 1 },
        nodeSets: [nodeSet('a', { replicas: 3 }), { ...nodeSet('b', { replicas: 2 }), status: { readyReplicas: 2 } }],
      },
      LATER,
    );
    assert.equal(up.phase, 'Ready');
    assert.deepEqual(up.nodes, { ready: 2, total: 5 });
    assert.equal(up.endpoints?.restUrl, 'http://tight-1-slurmrestd.default.svc.cluster.local:6820');
    const readyCond = up.conditions?.find((c) => c.type === 'Ready');
    assert.equal(readyCond?.status, 'True');
    assert.equal(readyCond?.lastTransitionTime, '2026-11-25T12:05:00Z');
    assert.equal(up.conditions?.find((c) => c.type === 'Progressing')?.lastTransitionTime, '2026-11-25T12:05:00Z');

    const lost = islandStatus(
      { ...i, status: up },
      { controller: { readyReplicas: 0 }, restApi: { readyReplicas: 1 }, nodeSets: [] },
      new Date('2026-11-25T13:00:00Z'),
    );
    assert.equal(lost.phase, 'Degraded');
    assert.equal(lost.conditions?.find((c) => c.type === 'Degraded')?.message, 'lost slurmctld');
    assert.equal(lost.observedGeneration, 1);
  });

  it('setCondition moves lastTransitionTime only when the status flips', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'X', message: 'a' }, NOW);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Y', message: 'b' }, LATER);
    assert.equal(b[0].lastTransitionTime, '2026-11-25T12:00:00Z');
    assert.equal(b[0].reason, 'Y');
    const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Z', message: 'c' }, LATER);
    assert.equal(c[0].lastTransitionTime, '2026-11-25T12:05:00Z');
  });
});

describe('node sets', () => {
  it('build slurmd pods that join the island as dynamic nodes and drain in preStop', () => {
    const ns = nodeSet('prov-a', { nodeNames: ['gpu-node-17'], drainTimeoutSeconds: 900, nodeSelector: { pool: 'gpu' } });
    const p = slurmdPod(ns, island(), 0) as any;
    assert.deepEqual(validate(BUILTIN_SCHEMAS.Pod, p, '', { strict: true }), []);
    assert.equal(p.metadata.name, 'prov-a-0');
    assert.equal(p.spec.hostname, 'gpu-node-17');
    const args: string[] = p.spec.containers[0].args;
    assert.deepEqual(args.slice(0, 5), ['slurmd', '-D', '-Z', '-N', 'gpu-node-17']);
    assert.equal(args[args.indexOf('--conf-server') + 1], 'tight-1-slurmctld-0.tight-1-slurmctld.default.svc.cluster.local:6817');
    assert.equal(args[args.indexOf('--conf') + 1], 'CPUs=32 RealMemory=128000 Gres=gpu:a100:2 Feature=eu-west,avx512,nodeset_prov-a');
    assert.equal(p.spec.terminationGracePeriodSeconds, 900);
    assert.deepEqual(p.spec.containers[0].lifecycle.preStop.exec.command, ['/usr/local/bin/slurmd-drain', 'gpu-node-17', '/etc/podinfo/drain-reason']);
    assert.equal(p.spec.containers[0].resources.limits['nvidia.com/gpu'], '2');
    assert.equal(p.spec.volumes.find((v: any) => v.name === 'munge-key').secret.secretName, 'tight-1-munge');
    assert.equal((slurmdPod(ns, island(), 1) as any).spec.hostname, 'prov-a-1', 'ordinals past nodeNames use the pod name');
    const dotted = slurmdPod(nodeSet('prov-b', { nodeNames: ['Node7.example'] }), island(), 0) as any;
    assert.equal(dotted.spec.hostname, 'prov-b-0', 'a NodeName that is no DNS label stays out of the hostname');
    assert.equal(dotted.spec.containers[0].args[4], 'Node7.example');
  });

  it('without GPUs or features the node still carries its node-set feature', () => {
    assert.equal(dynamicNodeConf(nodeSet('plain', { gpus: undefined, features: undefined, cpus: undefined, memoryMb: undefined })), 'Feature=nodeset_plain');
  });

  it('create missing ordinals, scale down highest first, and leave terminating pods to drain', () => {
    const ns = nodeSet('prov-a', { replicas: 2 });
    const pods = [pod('prov-a-0', 0, {}, ready), pod('prov-a-3', 3), pod('prov-a-2', 2), pod('prov-a-1', 1, { deletionTimestamp: '2026-11-25T12:00:00Z' })];
    const plan = planNodeSet(ns, island(), pods);
    assert.deepEqual(plan.delete, [
      { name: 'prov-a-3', reason: 'node set scaled down' },
      { name: 'prov-a-2', reason: 'node set scaled down' },
    ]);
    assert.deepEqual(
      plan.create.map((p) => p.metadata.name),
      [],
      'ordinal 1 is still terminating: recreated later',
    );
    assert.deepEqual(
      planNodeSet(ns, island(), [pod('prov-a-0', 0)]).create.map((p) => p.metadata.name),
      ['prov-a-1'],
    );
  });

  it('replace an exited pod, create nothing without the island, and delete everything when deleted', () => {
    const ns = nodeSet('prov-a', { replicas: 1 });
    assert.deepEqual(planNodeSet(ns, island(), [pod('prov-a-0', 0, {}, { phase: 'Failed' })]).delete, [{ name: 'prov-a-0', reason: 'slurmd pod Failed' }]);
    assert.deepEqual(planNodeSet(ns, undefined, []).create, []);
    const deleting = { ...ns, metadata: { ...ns.metadata, deletionTimestamp: '2026-11-25T12:00:00Z' } };
    assert.deepEqual(planNodeSet(deleting, island(), [pod('prov-a-0', 0, {}, ready)]), {
      create: [],
      delete: [{ name: 'prov-a-0', reason: 'node set deleted' }],
      annotate: [],
    });
    const withReason = { ...deleting, metadata: { ...deleting.metadata, annotations: { [ANNOTATIONS.drainReason]: 'regrouped to island b' } } };
    assert.equal(
      planNodeSet(withReason, island(), [pod('prov-a-0', 0, {}, ready)]).delete[0].reason,
      'regrouped to island b',
      'the NodeSet annotation names the reason',
    );
  });

  it('an admin drain on the NodeSet is copied to its live pods, and its removal resumes them', () => {
    const drainedSet = nodeSet('prov-a', { replicas: 2 });
    drainedSet.metadata.annotations = { [ANNOTATIONS.drained]: 'maintenance' };
    const pods = [pod('prov-a-0', 0, {}, ready), pod('prov-a-1', 1, { annotations: { [ANNOTATIONS.drained]: 'maintenance' } }, ready)];
    assert.deepEqual(planNodeSet(drainedSet, island(), pods).annotate, [{ name: 'prov-a-0', drained: 'maintenance' }]);
    assert.equal((slurmdPod(drainedSet, island(), 0) as any).metadata.annotations[ANNOTATIONS.drained], 'maintenance', 'new pods start drained');
    const resumed = nodeSet('prov-a', { replicas: 2 });
    assert.deepEqual(planNodeSet(resumed, island(), pods).annotate, [{ name: 'prov-a-1', drained: null }]);
    const files = (slurmdPod(resumed, island(), 0) as any).spec.volumes.find((v: any) => v.name === 'podinfo').downwardAPI.items.map((i: any) => i.path);
    assert.deepEqual(files, ['drain-reason', 'drained']);
  });

  it('report ready/total/draining counts, the selector, and IslandNotFound', () => {
    const ns = nodeSet('prov-a', { replicas: 2 });
    const s = nodeSetStatus(ns, island(), [pod('prov-a-0', 0, {}, ready), pod('prov-a-1', 1), pod('prov-a-2', 2, { deletionTimestamp: 'x' })], NOW);
    assert.deepEqual([s.phase, s.replicas, s.readyReplicas, s.drainingReplicas, s.selector], ['Scaling', 2, 1, 1, 'archipelago.dev/nodeset=prov-a']);
    assert.equal(s.conditions?.find((c) => c.type === 'Progressing')?.reason, 'Draining');
    const orphan = nodeSetStatus(ns, undefined, [], NOW);
    assert.equal(orphan.phase, 'Degraded');
    assert.equal(orphan.conditions?.find((c) => c.type === 'Ready')?.reason, 'IslandNotFound');
  });
});
