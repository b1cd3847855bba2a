import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './control-plane';

/**
 * A suite's OWN SLURM island with accounting (slurmdbd), started with slurm/local/island-up.sh
 * ACCOUNTING=1 unless it is already running with accounting (idempotent: a second suite reuses it).
 * Returns an islands file holding just that island, for ControlPlaneOptions.islandsSource.
 */
export function ensureAccountingIsland(name: string, index: number, nodes = 2): { islandsFile: string; slurmConf: string } {
  const run = `/run/archipelago/islands/${name}`;
  const etc = `/etc/archipelago/islands/${name}`;
  const alive = (pidFile: string) => {
    if (!existsSync(pidFile)) return false;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2].startsWith('Z');
    } catch {
      return false;
    }
  };
  const running =
    existsSync(`${etc}/env`) &&
    /^ACCOUNTING=1$/m.test(readFileSync(`${etc}/env`, 'utf8')) &&
    ['slurmctld', 'slurmdbd', 'slurmrestd'].every((d) => alive(`${run}/${d}.pid`));
  if (!running) {
    execFileSync(join(REPO, 'slurm/local/island-up.sh'), [name, String(index)], {
      env: { ...process.env, ACCOUNTING: '1', NODES: String(nodes) },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 120_000,
    });
  }
  const islandsFile = join(mkdtempSync(join(tmpdir(), `${name}-`)), 'islands.json');
  writeFileSync(islandsFile, JSON.stringify({ islands: [JSON.parse(readFileSync(`${etc}/island.json`, 'utf8'))] }));
  return { islandsFile, slurmConf: `${etc}/slurm.conf` };
}
