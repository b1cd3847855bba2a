import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** What `join` leaves for `run`: who the node is, and the last seq it used (so restarts keep increasing). */
export interface AgentState {
  server: string;
  nodeId: string;
  name: string;
  seq: number;
  probeAddress: string;
  /** Where the echo server listens; `probeAddress` is what peers dial (they differ behind NAT or a relay). */
  probePort: number;
  /** Address to answer probes on and to probe from (absent: every address, and the kernel's choice). */
  listenHost?: string;
  heartbeatIntervalSeconds: number;
  joinedAt: string;
}

export function readState(path: string): AgentState {
  if (!existsSync(path)) throw new Error(`state file ${path} does not exist: join first`);
  const state = JSON.parse(readFileSync(path, 'utf8')) as AgentState;
  if (typeof state.nodeId !== 'string' || !Number.isSafeInteger(state.seq) || !Number.isInteger(state.probePort)) {
    throw new Error(`state file ${path} is not an agent state file`);
  }
  return state;
}

/** Written to a temporary file and renamed: a crash leaves the old state or the new, never half. */
export function writeState(path: string, state: AgentState): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}
