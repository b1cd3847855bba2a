import type { Island, NodeSet } from '../../../contracts/kubernetes/v1alpha1.js';

/** Every name the island operator gives a child object or an endpoint, in one place. */
export function islandNames(island: Pick<Island, 'metadata'>) {
  const n = island.metadata.name;
  const ns = island.metadata.namespace ?? 'default';
  return {
    config: `${n}-slurm-config`,
    mungeSecret: `${n}-munge`,
    jwtSecret: `${n}-jwt`,
    slurmdbdSecret: `${n}-slurmdbd`,
    slurmctld: `${n}-slurmctld`,
    slurmrestd: `${n}-slurmrestd`,
    slurmdbd: `${n}-slurmdbd`,
    mariadb: `${n}-mariadb`,
    /** The StatefulSet's only pod: its hostname is what SlurmctldHost must name. */
    controllerHost: `${n}-slurmctld-0`,
    controllerFqdn: `${n}-slurmctld-0.${n}-slurmctld.${ns}.svc.cluster.local`,
    restUrl: `http://${n}-slurmrestd.${ns}.svc.cluster.local:6820`,
  };
}

/** Pods of a node set are `<nodeset>-<ordinal>`; the SLURM NodeName is the given name or the pod name. */
export function podName(nodeSet: Pick<NodeSet, 'metadata'>, ordinal: number): string {
  return `${nodeSet.metadata.name}-${ordinal}`;
}

export function slurmNodeName(nodeSet: Pick<NodeSet, 'metadata' | 'spec'>, ordinal: number): string {
  return nodeSet.spec.nodeNames?.[ordinal] ?? podName(nodeSet, ordinal);
}

export function imageFor(island: Pick<Island, 'spec'>, daemon: 'slurmctld' | 'slurmd' | 'slurmrestd' | 'slurmdbd'): string {
  return `${island.spec.slurm.image}-${daemon}:${island.spec.slurm.version}`;
}
