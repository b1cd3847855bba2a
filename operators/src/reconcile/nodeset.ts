import {
  ANNOTATIONS,
  LABELS,
  MANAGED_BY,
  type Island,
  type KubeObject,
  type NodeSet,
  type NodeSetStatus,
  type ObjectMeta,
} from '../../../contracts/kubernetes/v1alpha1.js';
import { controllerRef, setCondition } from './conditions.js';
import { keyRefs } from './island.js';
import { imageFor, islandNames, podName, slurmNodeName } from './names.js';
import { contentHash, PATHS, PORTS } from './slurm-conf.js';

/** A pod as the node-set operator reads it from its informer. */
export interface ObservedPod {
  metadata: ObjectMeta;
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

export const DRAIN_SCRIPT = '/usr/local/bin/slurmd-drain';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function podSelector(nodeSet: Pick<NodeSet, 'metadata'>): Record<string, string> {
  return { [LABELS.nodeSet]: nodeSet.metadata.name };
}

/** The `--conf` line a dynamic node registers with: what SLURM may schedule on it. */
export function dynamicNodeConf(nodeSet: NodeSet): string {
  const { spec } = nodeSet;
  const parts: string[] = [];
  if (spec.cpus) parts.push(`CPUs=${spec.cpus}`);
  if (spec.memoryMb) parts.push(`RealMemory=${spec.memoryMb}`);
  if (spec.gpus && spec.gpus.count > 0) parts.push(`Gres=gpu${spec.gpus.type ? `:${spec.gpus.type}` : ''}:${spec.gpus.count}`);
  // The node set's name is a feature too, so `--constraint` can target one provider pool.
  parts.push(`Feature=${[...(spec.features ?? []), `nodeset_${nodeSet.metadata.name}`].join(',')}`);
  return parts.join(' ');
}

/**
 * Hash of everything a pod is built from except its ordinal. Pods follow OnDelete semantics: a changed
 * template never restarts a running slurmd (that would kill its jobs); status.updatedReplicas shows the lag.
 */
export function templateHash(nodeSet: NodeSet, island: Island): string {
  const { replicas: _replicas, nodeNames: _names, ...shape } = nodeSet.spec;
  return contentHash(JSON.stringify([shape, island.spec.slurm, keyRefs(island).munge, islandNames(island).controllerFqdn]));
}

export function slurmdPod(nodeSet: NodeSet, island: Island, ordinal: number): KubeObject {
  const { spec } = nodeSet;
  const nodeName = slurmNodeName(nodeSet, ordinal);
  const munge = keyRefs(island).munge;
  const limits: Record<string, string> = {};
  if (spec.gpus && spec.gpus.count > 0) limits[spec.gpus.resourceName] = String(spec.gpus.count);
  const baseResources = (spec.resources ?? {}) as { limits?: Record<string, string>; requests?: Record<string, string> };
  const resources = Object.keys(limits).length ? { ...baseResources, limits: { ...baseResources.limits, ...limits } } : spec.resources;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(nodeSet, ordinal),
      namespace: nodeSet.metadata.namespace,
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.component]: 'slurmd',
        [LABELS.island]: spec.islandRef.name,
        [LABELS.nodeSet]: nodeSet.metadata.name,
        [LABELS.ordinal]: String(ordinal),
      },
      annotations: {
        [ANNOTATIONS.templateHash]: templateHash(nodeSet, island),
        ...(drainedReason(nodeSet) !== null ? { [ANNOTATIONS.drained]: drainedReason(nodeSet)! } : {}),
      },
      ownerReferences: [controllerRef(nodeSet)],
    },
    spec: {
      // slurmd registers under -N; the hostname matches it when it can (a DNS label) so logs and SLURM agree.
      hostname: DNS_LABEL.test(nodeName) ? nodeName : podName(nodeSet, ordinal),
      restartPolicy: 'Always',
      enableServiceLinks: false,
      // The preStop hook drains the node and waits for its jobs; this bounds that wait.
      terminationGracePeriodSeconds: spec.drainTimeoutSeconds,
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
      containers: [
        {
          name: 'slurmd',
          image: imageFor(island, 'slurmd'),
          args: [
            'slurmd',
            '-D',
            '-Z',
            '-N',
            nodeName,
            '--conf-server',
            `${islandNames(island).controllerFqdn}:${PORTS.slurmctld}`,
            '--conf',
            dynamicNodeConf(nodeSet),
          ],
          env: [{ name: 'SLURM_NODENAME', value: nodeName }],
          ports: [{ name: 'slurmd', containerPort: PORTS.slurmd, protocol: 'TCP' }],
          // slurmd launches job steps as the submitting user: it needs root and its capabilities.
          securityContext: { privileged: true },
          ...(resources ? { resources } : {}),
          readinessProbe: { tcpSocket: { port: PORTS.slurmd }, periodSeconds: 10 },
          lifecycle: { preStop: { exec: { command: [DRAIN_SCRIPT, nodeName, '/etc/podinfo/drain-reason'] } } },
          volumeMounts: [
            { name: 'munge-key', mountPath: PATHS.mungeKeySecret, subPath: 'munge.key', readOnly: true },
            { name: 'podinfo', mountPath: '/etc/podinfo', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'munge-key', secret: { secretName: munge.name, items: [{ key: munge.key, path: 'munge.key' }], defaultMode: 0o400 } },
        {
          name: 'podinfo',
          downwardAPI: {
            items: [
              { path: 'drain-reason', fieldRef: { fieldPath: `metadata.annotations['${ANNOTATIONS.drainReason}']` } },
              // Watched by slurmd-run: drain while it holds a reason, resume when it is empty.
              { path: 'drained', fieldRef: { fieldPath: `metadata.annotations['${ANNOTATIONS.drained}']` } },
            ],
          },
        },
      ],
    },
  };
}

function ordinalOf(pod: ObservedPod): number {
  const n = Number(pod.metadata.labels?.[LABELS.ordinal]);
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

function isReady(pod: ObservedPod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function finished(pod: ObservedPod): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

export interface NodeSetPlan {
  create: KubeObject[];
  /** Pod names to delete, highest ordinal first, each with the reason its slurmd is drained with. */
  delete: { name: string; reason: string }[];
  /** Live pods whose drained annotation must follow the NodeSet's (null: remove it, i.e. resume). */
  annotate: { name: string; drained: string | null }[];
}

/** The admin drain the control plane asked for on this NodeSet, or null when it is in service. */
export function drainedReason(nodeSet: NodeSet): string | null {
  return nodeSet.metadata.annotations?.[ANNOTATIONS.drained] ?? null;
}

/**
 * Which pods to create and which to delete. Scale-down and deletion go highest ordinal first; a pod already
 * terminating is left to finish its drain; a pod that exited is deleted so the next pass recreates it.
 * Without its island (not created yet, or gone) nothing is created: slurmd would have no controller.
 */
export function planNodeSet(nodeSet: NodeSet, island: Island | undefined, pods: readonly ObservedPod[]): NodeSetPlan {
  const deleting = Boolean(nodeSet.metadata.deletionTimestamp);
  const wanted = deleting ? 0 : nodeSet.spec.replicas;
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  const byOrdinal = new Map(live.map((p) => [ordinalOf(p), p]));
  const plan: NodeSetPlan = { create: [], delete: [], annotate: [] };
  const doomed = live.filter((p) => ordinalOf(p) < 0 || ordinalOf(p) >= wanted || finished(p)).sort((a, b) => ordinalOf(b) - ordinalOf(a));
  for (const pod of doomed) {
    const requested = nodeSet.metadata.annotations?.[ANNOTATIONS.drainReason];
    const reason =
      finished(pod) && ordinalOf(pod) < wanted ? `slurmd pod ${pod.status?.phase}` : (requested ?? (deleting ? 'node set deleted' : 'node set scaled down'));
    plan.delete.push({ name: pod.metadata.name, reason });
  }
  const doomedNames = new Set(plan.delete.map((d) => d.name));
  const drained = drainedReason(nodeSet);
  for (const pod of live) {
    if (doomedNames.has(pod.metadata.name)) continue;
    if ((pod.metadata.annotations?.[ANNOTATIONS.drained] ?? null) !== drained) plan.annotate.push({ name: pod.metadata.name, drained });
  }
  const terminating = new Set(pods.filter((p) => p.metadata.deletionTimestamp).map(ordinalOf));
  if (island && !island.metadata.deletionTimestamp) {
    for (let i = 0; i < wanted; i++) {
      // A terminating pod keeps its name until it is gone; recreate it on a later pass.
      if (!byOrdinal.has(i) && !terminating.has(i)) plan.create.push(slurmdPod(nodeSet, island, i));
    }
  }
  return plan;
}

export function nodeSetStatus(nodeSet: NodeSet, island: Island | undefined, pods: readonly ObservedPod[], now: Date): NodeSetStatus {
  const generation = nodeSet.metadata.generation ?? 0;
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.filter(isReady).length;
  const draining = pods.length - live.length;
  const hash = island ? templateHash(nodeSet, island) : undefined;
  const updated = live.filter((p) => p.metadata.annotations?.[ANNOTATIONS.templateHash] === hash).length;
  const deleting = Boolean(nodeSet.metadata.deletionTimestamp);
  const wanted = nodeSet.spec.replicas;
  const settled = live.length === wanted && draining === 0;
  const everReady = nodeSet.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const allReady = settled && ready === wanted;

  let conditions = nodeSet.status?.conditions;
  conditions = setCondition(
    conditions,
    allReady
      ? { type: 'Ready', status: 'True', reason: 'AllNodesReady', message: `${ready}/${wanted} slurmd ready`, observedGeneration: generation }
      : {
          type: 'Ready',
          status: 'False',
          reason: island ? 'NodesNotReady' : 'IslandNotFound',
          message: island ? `${ready}/${wanted} slurmd ready` : `island ${nodeSet.spec.islandRef.name} not found`,
          observedGeneration: generation,
        },
    now,
  );
  conditions = setCondition(
    conditions,
    settled && !deleting
      ? { type: 'Progressing', status: 'False', reason: 'Reconciled', message: `${live.length} pods`, observedGeneration: generation }
      : {
          type: 'Progressing',
          status: 'True',
          reason: draining ? 'Draining' : 'Scaling',
          message: `${live.length}/${deleting ? 0 : wanted} pods, ${draining} draining`,
          observedGeneration: generation,
        },
    now,
  );
  const degraded = !island ? !deleting : everReady && settled && ready < wanted;
  conditions = setCondition(
    conditions,
    degraded
      ? {
          type: 'Degraded',
          status: 'True',
          reason: island ? 'NodesLost' : 'IslandNotFound',
          message: island ? `${wanted - ready} slurmd not ready` : `island ${nodeSet.spec.islandRef.name} not found`,
          observedGeneration: generation,
        }
      : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', observedGeneration: generation },
    now,
  );
  const phase: NodeSetStatus['phase'] = deleting
    ? 'Terminating'
    : degraded
      ? 'Degraded'
      : allReady
        ? 'Ready'
        : live.length === 0 && draining === 0
          ? 'Pending'
          : 'Scaling';
  return {
    phase,
    observedGeneration: generation,
    replicas: live.length,
    readyReplicas: ready,
    updatedReplicas: updated,
    drainingReplicas: draining,
    selector: Object.entries(podSelector(nodeSet))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    ...(island ? { endpoints: { controller: `${islandNames(island).controllerFqdn}:${PORTS.slurmctld}` } } : {}),
    conditions,
  };
}
