import type { IslandMemberSpec } from './island-launcher.port';
import type { FormationNode } from './formation-node';

/** The node's values of the configured hard tags; a missing tag is a value too (never mixed with a set one). */
export function hardTagsOf(node: Pick<FormationNode, 'tags'>, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, node.tags[name] ?? '']));
}

/** What SLURM is told about a node: its inventory, and its tags as features `--constraint` can name. */
export function memberSpec(node: Pick<FormationNode, 'name' | 'tags' | 'inventory'>): IslandMemberSpec {
  const tags = Object.entries(node.tags)
    .filter(([, value]) => value)
    .map(([key, value]) => `${key === 'providerGroup' ? 'provider' : key}-${value}`);
  return {
    node: node.name,
    cpus: node.inventory.cpus,
    memoryMb: node.inventory.memoryMb,
    gres: node.inventory.gpus.filter((g) => g.count > 0).map((g) => `gpu:${g.model}:${g.count}`),
    features: [...node.inventory.features, ...tags, `perf-${node.inventory.performance}`],
  };
}
