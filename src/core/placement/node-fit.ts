/**
 * Whether one node holds a job's per-node demand now. A job of N nodes needs N different nodes that
 * each hold the whole per-node demand, so every question here is asked per node, never about an
 * island's total. These are the hot loops of placement: they read the typed arrays of a NodeClass
 * directly and allocate nothing.
 */
import type { JobDemand } from './job-demand';
import type { NodeClass } from './placement-index';

/** What each node of the job must hold, flattened from JobDemand for the hot loops. */
export interface PerNodeDemand {
  cpus: number;
  memoryMb: number;
  /** `--mem=0`: a node whose memory is entirely free (memoryMb is then ignored). */
  wholeNodeMemory: boolean;
  /** `--exclusive`: a node that is entirely idle. */
  exclusive: boolean;
  gpus: number;
}

export function perNodeDemandOf(demand: JobDemand): PerNodeDemand {
  return {
    cpus: demand.cpusPerNode,
    memoryMb: demand.memPerNodeMb,
    wholeNodeMemory: demand.wholeNodeMemory,
    exclusive: demand.exclusive,
    gpus: demand.gpusPerNode,
  };
}

/**
 * Whether `node` (an index in the class) holds the demand now. `gpuModel` is the index of the GPU
 * model in the class, or -1 when any model will do (the GPUs of all models on the node count).
 */
export function nodeFitsNow(nodeClass: NodeClass, node: number, gpuModel: number, perNode: PerNodeDemand): boolean {
  if (perNode.exclusive) {
    if (nodeClass.cpusFree[node] !== nodeClass.cpus || nodeClass.memFree[node] !== nodeClass.memoryMb) return false;
    for (let model = 0; model < nodeClass.gpuFree.length; model++) {
      if (nodeClass.gpuFree[model][node] !== nodeClass.gpuTotal[model]) return false;
    }
    return true;
  }
  if (nodeClass.cpusFree[node] < perNode.cpus) return false;
  if (perNode.wholeNodeMemory ? nodeClass.memFree[node] !== nodeClass.memoryMb : nodeClass.memFree[node] < perNode.memoryMb) return false;
  return perNode.gpus === 0 || nodeClass.gpusFreeOn(node, gpuModel) >= perNode.gpus;
}

/**
 * Nodes of the class that hold the demand now, counted up to `wanted` (the caller needs no more).
 * The class's upper bounds of its free maxima answer "none" without a scan; a scan that reaches
 * the end makes them exact, so the next shape that cannot fit here is rejected without one.
 */
export function countNodesFittingNow(nodeClass: NodeClass, gpuModel: number, perNode: PerNodeDemand, wanted: number): number {
  const cpusNeeded = perNode.exclusive ? nodeClass.cpus : perNode.cpus;
  const memoryNeeded = perNode.exclusive || perNode.wholeNodeMemory ? nodeClass.memoryMb : perNode.memoryMb;
  if (nodeClass.maxCpusFree < cpusNeeded || nodeClass.maxMemFree < memoryNeeded) return 0;
  if (perNode.gpus > 0 && !perNode.exclusive) {
    let gpuBound = 0;
    if (gpuModel >= 0) gpuBound = nodeClass.maxGpuFree[gpuModel];
    else for (const modelBound of nodeClass.maxGpuFree) gpuBound += modelBound;
    if (gpuBound < perNode.gpus) return 0;
  }
  let count = 0;
  let maxCpusFree = 0;
  let maxMemFree = 0;
  const { cpusFree, memFree } = nodeClass;
  for (let node = nodeClass.cursor; node < nodeClass.size; node++) {
    if (nodeFitsNow(nodeClass, node, gpuModel, perNode)) {
      if (++count >= wanted) return count;
    }
    if (cpusFree[node] > maxCpusFree) maxCpusFree = cpusFree[node];
    if (memFree[node] > maxMemFree) maxMemFree = memFree[node];
  }
  // A full scan: the maxima are now exact (nodes before the cursor have no free CPU and cannot fit anything).
  nodeClass.maxCpusFree = maxCpusFree;
  nodeClass.maxMemFree = maxMemFree;
  for (let model = 0; model < nodeClass.gpuFree.length; model++) {
    let maxGpusFree = 0;
    const pool = nodeClass.gpuFree[model];
    for (let node = nodeClass.cursor; node < nodeClass.size; node++) if (pool[node] > maxGpusFree) maxGpusFree = pool[node];
    nodeClass.maxGpuFree[model] = maxGpusFree;
  }
  return count;
}

/**
 * How many single-node tasks of the demand fit on `node` side by side, for a node that already
 * holds one (`nodeFitsNow`); only for shared (not exclusive, not whole-memory) demands.
 */
export function tasksFittingOnNode(nodeClass: NodeClass, node: number, gpuModel: number, perNode: PerNodeDemand): number {
  let tasks = Math.floor(nodeClass.cpusFree[node] / perNode.cpus);
  if (perNode.memoryMb > 0) tasks = Math.min(tasks, Math.floor(nodeClass.memFree[node] / perNode.memoryMb));
  if (perNode.gpus > 0) tasks = Math.min(tasks, Math.floor(nodeClass.gpusFreeOn(node, gpuModel) / perNode.gpus));
  return tasks;
}
