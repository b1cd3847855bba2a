import { createHash } from 'node:crypto';

import { API_VERSION, LABELS, NODE_FEATURE, type IslandApply, type NodeSetApply } from '../../../contracts/kubernetes/v1alpha1';
import type { IslandClusterSpec, IslandMemberSpec } from '../../core/islands/island-launcher.port';

/** The Island and NodeSet resources the Kubernetes island launcher applies, built from topology decisions. */

/** A DNS-label NodeSet name for a member; names that had to be altered or shortened get a hash suffix. */
export function nodeSetName(island: string, node: string): string {
  const plain = `${island}-${node}`;
  const label = plain.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  // Pods are `<nodeset>-<ordinal>` and the name is a label value: keep room under 63 characters.
  if (label === plain && label.length <= 50) return label;
  const hash = createHash('sha256').update(`${island}/${node}`).digest('hex').slice(0, 8);
  return `${label.slice(0, 41).replace(/-+$/, '')}-${hash}`;
}

/** `gpu:a100:2` → { count: 2, type: 'a100' }; other GRES are not GPUs and are not scheduled by Kubernetes. */
export function gpusFromGres(gres: string[]): { count: number; type?: string } | undefined {
  let count = 0;
  let type: string | undefined;
  for (const g of gres) {
    const m = /^gpu(?::([^:]+))?:(\d+)$/.exec(g);
    if (!m) continue;
    count += Number(m[2]);
    type ??= m[1];
  }
  return count ? { count, ...(type ? { type: type.toLowerCase() } : {}) } : undefined;
}

export interface IslandTarget {
  namespace: string;
  slurmImage: string;
  slurmVersion?: string;
}

export function islandResource(spec: IslandClusterSpec, target: IslandTarget): IslandApply {
  return {
    apiVersion: API_VERSION,
    kind: 'Island',
    metadata: { name: spec.name, namespace: target.namespace, labels: { [LABELS.tier]: spec.tier } },
    spec: {
      slurm: { image: target.slurmImage, ...(target.slurmVersion ? { version: target.slurmVersion } : {}) },
      tier: spec.tier,
      boundMs: spec.boundMs,
      partitions: spec.partitions.map((name, i) => ({ name, ...(i === 0 ? { default: true } : {}) })),
    },
  };
}

export interface NodeSetTarget {
  namespace: string;
  /** Kubernetes node label that pins the member's slurmd pod to the provider's machine. */
  nodeLabel?: string;
}

/** One NodeSet per member node; features the CRD would refuse are left out rather than failing the join. */
export function nodeSetResource(island: string, member: IslandMemberSpec, target: NodeSetTarget): NodeSetApply {
  const gpus = gpusFromGres(member.gres);
  return {
    apiVersion: API_VERSION,
    kind: 'NodeSet',
    metadata: { name: nodeSetName(island, member.node), namespace: target.namespace, labels: { [LABELS.island]: island } },
    spec: {
      islandRef: { name: island },
      replicas: 1,
      nodeNames: [member.node],
      cpus: member.cpus,
      memoryMb: member.memoryMb,
      ...(gpus ? { gpus } : {}),
      features: member.features.filter((f) => NODE_FEATURE.test(f)),
      nodeSelector: { [target.nodeLabel ?? LABELS.node]: member.node },
    },
  };
}
