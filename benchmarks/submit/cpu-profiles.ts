import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * CPU profiles of the control-plane processes a benchmark starts, through cpu-profile-hook.ts
 * preloaded into them. Without a directory every method does nothing.
 */
export class CpuProfiles {
  constructor(readonly dir: string | null) {
    if (dir) mkdirSync(dir, { recursive: true });
  }

  /** Environment that makes a spawned process load the hook. */
  env(): Record<string, string> {
    return this.dir ? { NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile-hook.js')}`, ARCH_BENCH_CPU_PROF_DIR: this.dir } : {};
  }

  /** Each process writes its profile so far and starts the next part. */
  mark(...pids: Array<number | undefined>): void {
    if (this.dir) for (const pid of pids) if (pid) process.kill(pid, 'SIGWINCH');
  }

  /** Time for the processes to write what the last mark asked for, before they are stopped. */
  async written(): Promise<void> {
    if (this.dir) await new Promise((resolve) => setTimeout(resolve, 1500));
  }
}
