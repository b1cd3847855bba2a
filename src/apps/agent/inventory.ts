import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { availableParallelism, freemem, loadavg, networkInterfaces, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import type { GpuInventory, HeartbeatMessage, NodeInventory } from '../../core/nodes/agent-protocol';

const MIB = 1024 * 1024;

function onPath(binary: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** GPU models and counts from nvidia-smi, only if it is installed; none otherwise (or if it fails). */
export function detectGpus(): GpuInventory[] {
  const smi = onPath('nvidia-smi');
  if (!smi) return [];
  let out: string;
  try {
    out = execFileSync(smi, ['--query-gpu=name', '--format=csv,noheader'], { timeout: 10_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const counts = new Map<string, number>();
  for (const line of out.split('\n')) {
    // "NVIDIA A100-SXM4-40GB" → "NVIDIA-A100-SXM4-40GB" (the protocol allows letters, digits, . _ -).
    const model = line
      .trim()
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64);
    if (model) counts.set(model, (counts.get(model) ?? 0) + 1);
  }
  return [...counts].map(([model, count]) => ({ model, count })).slice(0, 16);
}

export function detectInventory(features: string[], performance: NodeInventory['performance']): NodeInventory {
  return {
    cpus: availableParallelism(),
    memoryMb: Math.floor(totalmem() / MIB),
    gpus: detectGpus(),
    features,
    performance,
  };
}

/** What is free now, roughly: CPUs not covered by the 1-minute load average, free memory. */
export function currentCapacity(inventory: Pick<NodeInventory, 'cpus'>, gpus: number): HeartbeatMessage['capacity'] {
  return {
    cpusFree: Math.max(0, inventory.cpus - Math.round(loadavg()[0])),
    memoryFreeMb: Math.floor(freemem() / MIB),
    gpusFree: gpus,
  };
}

/** The first non-internal IPv4 address, for peers to probe; loopback if there is none. */
export function defaultProbeHost(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}
