import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { IslandClusterSpec, IslandLauncher, IslandMemberSpec, LaunchedIsland } from '../../core/islands/island-launcher.port';

const run = promisify(execFile);
const SCRIPTS = resolve(__dirname, '../../../../slurm/local');
const ISLANDS_ETC = '/etc/archipelago/islands';
const ISLANDS_RUN = '/run/archipelago/islands';
/** Room for provider nodes per launched island (MaxNodeCount; slurmctld must restart to change it). */
const DYNAMIC_NODES = 64;

/** SLURM feature names allow letters, digits, `_`, `.` and `-` only. */
export function slurmFeature(tag: string): string {
  return tag
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

function alive(pidFile: string): boolean {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The dev stack's launcher: each island is a set of local daemons started by slurm/local/island-up.sh
 * (controller only: NODES=0), and each provider node a dynamic slurmd in its own network namespace
 * (node-join.sh). Needs root, like those scripts; production uses the Kubernetes launcher.
 */
export class LocalIslandLauncher implements IslandLauncher {
  readonly kind = 'local' as const;

  constructor(private readonly slots: number[]) {}

  async ensureIsland(spec: IslandClusterSpec): Promise<LaunchedIsland> {
    const envFile = `${ISLANDS_ETC}/${spec.name}/env`;
    if (!(existsSync(envFile) && alive(`${ISLANDS_RUN}/${spec.name}/slurmctld.pid`) && alive(`${ISLANDS_RUN}/${spec.name}/slurmrestd.pid`))) {
      const slot = this.slotFor(spec.name);
      await this.script('island-up.sh', [spec.name, String(slot)], 120_000, {
        NODES: '0',
        DYN_NODES: String(DYNAMIC_NODES),
        GRES_TYPES: 'gpu',
        KEEP_STATE: spec.keepState ? '1' : '0',
      });
    }
    const env = readEnvFile(envFile);
    return {
      name: spec.name,
      restUrl: env.SLURM_REST_URL,
      jwtKey: readFileSync(env.SLURM_JWT_KEY_FILE),
      partitions: (env.ISLAND_PARTITIONS ?? 'debug').split(','),
    };
  }

  async joinNode(island: string, member: IslandMemberSpec): Promise<void> {
    const args = [island, member.node, '--cpus', String(member.cpus), '--mem', String(member.memoryMb), '--timeout', '30'];
    const features = [...new Set(member.features.map(slurmFeature).filter(Boolean))];
    if (features.length) args.push('--features', features.join(','));
    if (member.gres.length) args.push('--gres', member.gres.join(','));
    await this.script('node-join.sh', args, 60_000);
  }

  async removeNode(island: string, node: string, options: { reason: string; timeoutMs: number; force: boolean }): Promise<boolean> {
    const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
    const args = [island, node, '--timeout', String(seconds), '--reason', options.reason.slice(0, 200)];
    if (options.force) args.push('--force');
    try {
      await this.script('node-leave.sh', args, seconds * 1000 + 60_000);
      return true;
    } catch (error) {
      // node-leave.sh exits 3 when the node's jobs outlived the timeout (and --force was not given).
      if ((error as { code?: number }).code === 3) return false;
      throw error;
    }
  }

  async setDrained(island: string, node: string, drained: boolean, reason: string): Promise<void> {
    const conf = `${ISLANDS_ETC}/${island}/slurm.conf`;
    const state = drained ? ['State=DRAIN', `Reason=${reason.replace(/\s+/g, '_').slice(0, 100) || 'drained'}`] : ['State=RESUME'];
    await run('scontrol', ['update', `NodeName=${node}`, ...state], { env: { ...process.env, SLURM_CONF: conf }, timeout: 15_000 });
  }

  async retireIsland(name: string): Promise<void> {
    await this.script('island-down.sh', [name], 120_000);
  }

  /** The island's previous port block if it had one and it is free, else the first free configured one. */
  private slotFor(name: string): number {
    const used = new Set<number>();
    const islands = existsSync(ISLANDS_ETC) ? readdirSync(ISLANDS_ETC) : [];
    let previous: number | null = null;
    for (const other of islands) {
      const envFile = `${ISLANDS_ETC}/${other}/env`;
      if (!existsSync(envFile)) continue;
      const index = Number(readEnvFile(envFile).ISLAND_INDEX);
      if (other === name) previous = index;
      else if (alive(`${ISLANDS_RUN}/${other}/slurmctld.pid`)) used.add(index);
    }
    if (previous !== null && this.slots.includes(previous) && !used.has(previous)) return previous;
    const free = this.slots.find((slot) => !used.has(slot));
    if (free === undefined) throw new Error(`no free local island slot among ${this.slots.join(', ')} (ARCHIPELAGO_LOCAL_ISLAND_SLOTS)`);
    return free;
  }

  private async script(name: string, args: string[], timeout: number, env: Record<string, string> = {}): Promise<string> {
    try {
      const { stdout } = await run('bash', [`${SCRIPTS}/${name}`, ...args], { env: { ...process.env, ...env }, timeout, maxBuffer: 4 << 20 });
      return stdout;
    } catch (error) {
      const e = error as { code?: number; stderr?: string; message: string };
      const detail = (e.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
      throw Object.assign(new Error(`${name} ${args.join(' ')} failed: ${detail || e.message}`), { code: e.code });
    }
  }
}
