/**
 * Taking capacity in the placement view, so the next placement of a batch sees it: nodes for a job
 * that starts now, queue depth for one that waits. Every change bumps the island's `version`, which
 * is what the per-shape caches key on (only the island that changed is re-evaluated).
 *
 * Nodes are taken first fit, in the island's class order (least special hardware first), from each
 * class's cursor (the first node that may still have a free CPU).
 */
import type { EligibleClass } from './eligible-classes';
import type { JobDemand } from './job-demand';
import { nodeFitsNow, tasksFittingOnNode, type PerNodeDemand } from './node-fit';
import type { IslandState, NodeClass } from './placement-index';

/**
 * Reserves `nodesWanted` different nodes that each hold the per-node demand, from the classes of
 * one constraint alternative; returns their names. The caller has evaluated that they fit now.
 */
export function reserveNodes(island: IslandState, classes: EligibleClass[], perNode: PerNodeDemand, nodesWanted: number): string[] {
  const nodes: string[] = [];
  for (const { nodeClass, gpuModel } of classes) {
    for (let node = nodeClass.cursor; node < nodeClass.size && nodes.length < nodesWanted; node++) {
      if (!nodeFitsNow(nodeClass, node, gpuModel, perNode)) continue;
      // An exclusive job takes the whole node, whatever it asked for.
      const cpus = perNode.exclusive ? nodeClass.cpusFree[node] : perNode.cpus;
      nodeClass.cpusFree[node] -= cpus;
      island.freeCpus -= cpus;
      nodeClass.memFree[node] -= perNode.exclusive || perNode.wholeNodeMemory ? nodeClass.memFree[node] : perNode.memoryMb;
      if (perNode.exclusive) {
        for (const pool of nodeClass.gpuFree) pool[node] = 0;
      } else if (perNode.gpus > 0) {
        takeGpus(nodeClass, node, gpuModel, perNode.gpus);
      }
      nodes.push(nodeClass.names[node]);
    }
    skipFullNodes(nodeClass);
    if (nodes.length >= nodesWanted) break;
  }
  if (nodes.length < nodesWanted) throw new Error(`internal: ${island.name} was evaluated to fit but holds only ${nodes.length} of ${nodesWanted} nodes`);
  island.version++;
  return nodes;
}

/**
 * Packs up to `tasksWanted` single-node shared tasks (not exclusive, not whole-memory) in one pass
 * over the classes, as many per node as fit; appends one node name per task to `nodeNames` and
 * returns how many tasks it placed. One pass instead of one `reserveNodes` per task: arrays of
 * thousands of small tasks are common.
 */
export function packSingleNodeTasks(island: IslandState, classes: EligibleClass[], perNode: PerNodeDemand, tasksWanted: number, nodeNames: string[]): number {
  let placed = 0;
  for (const { nodeClass, gpuModel } of classes) {
    for (let node = nodeClass.cursor; node < nodeClass.size && placed < tasksWanted; node++) {
      if (!nodeFitsNow(nodeClass, node, gpuModel, perNode)) continue;
      const tasks = Math.min(tasksFittingOnNode(nodeClass, node, gpuModel, perNode), tasksWanted - placed);
      nodeClass.cpusFree[node] -= tasks * perNode.cpus;
      island.freeCpus -= tasks * perNode.cpus;
      nodeClass.memFree[node] -= tasks * perNode.memoryMb;
      if (perNode.gpus > 0) takeGpus(nodeClass, node, gpuModel, tasks * perNode.gpus);
      for (let task = 0; task < tasks; task++) nodeNames.push(nodeClass.names[node]);
      placed += tasks;
    }
    skipFullNodes(nodeClass);
    if (placed >= tasksWanted) break;
  }
  if (placed > 0) island.version++;
  return placed;
}

/** Counts `jobs` more jobs of the demand as pending on the island (the queue drain of its expected start). */
export function queueJobs(island: IslandState, demand: JobDemand, jobs: number): void {
  island.pendingJobs += jobs;
  island.pendingCpuSeconds += jobs * demand.cpusPerNode * demand.nodes * demand.runtimeMinutes * 60;
  island.version++;
}

/** Takes `count` GPUs on the node: from the model's pool, or (any model) from its pools in order. */
function takeGpus(nodeClass: NodeClass, node: number, gpuModel: number, count: number): void {
  if (gpuModel >= 0) {
    nodeClass.gpuFree[gpuModel][node] -= count;
    return;
  }
  let left = count;
  for (const pool of nodeClass.gpuFree) {
    const taken = Math.min(left, pool[node]);
    pool[node] -= taken;
    left -= taken;
  }
}

/** Moves the first-fit cursor past the nodes with no free CPU, which no later job can use. */
function skipFullNodes(nodeClass: NodeClass): void {
  while (nodeClass.cursor < nodeClass.size && nodeClass.cpusFree[nodeClass.cursor] === 0) nodeClass.cursor++;
}
