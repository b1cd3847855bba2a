import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { slurmSideOf } from '../../benchmarks/submit/cpu-layout';

describe('benchmark CPU layout', () => {
  const proc = (pid: number, comm: string, cmdline: string, ppid = 1) => ({ pid, comm, ppid, cmdline });
  const machine = [
    proc(10, 'slurmctld', 'slurmctld -f /etc/archipelago/islands/local-a/slurm.conf'),
    proc(11, 'slurmscriptd', ': slurmscriptd', 10),
    proc(12, 'slurmd', 'slurmd -f /etc/archipelago/islands/local-a/slurm.conf -N local-a-n1'),
    proc(13, 'slurmrestd', 'slurmrestd -f /etc/archipelago/islands/local-a/slurm.conf -a rest_auth/jwt 127.0.0.1:7820'),
    proc(20, 'slurmctld', 'slurmctld -f /etc/archipelago/islands/local-c/slurm.conf'),
    proc(21, 'slurmscriptd', ': slurmscriptd', 20),
    proc(22, 'slurmrestd', 'slurmrestd -f /etc/archipelago/islands/local-c/slurm.conf'),
    proc(30, 'munged', '/usr/sbin/munged'),
    proc(31, 'slurmdbd', 'slurmdbd'),
    proc(32, 'mariadbd', '/usr/sbin/mariadbd --port=7815'),
    proc(40, 'postgres', 'postgres -D /var/lib/archipelago/pg'),
    proc(41, 'redis-server', 'redis-server 127.0.0.1:56379'),
    proc(42, 'node', 'node dist/src/apps/server/main.js --role worker'),
  ];

  it("puts the island's daemons, its slurmctld's script helper and SLURM's services on the SLURM side, and nothing else", () => {
    assert.deepEqual(
      slurmSideOf('local-a', machine)
        .map((p) => p.pid)
        .sort((a, b) => a - b),
      [10, 11, 12, 13, 30, 31, 32],
    );
    assert.deepEqual(
      slurmSideOf('local-c', machine)
        .map((p) => p.pid)
        .sort((a, b) => a - b),
      [20, 21, 22, 30, 31, 32],
    );
  });

  it('does not take an island whose name only starts like the measured one', () => {
    const lookalike = [...machine, proc(50, 'slurmctld', 'slurmctld -f /etc/archipelago/islands/local-a2/slurm.conf')];
    assert.ok(!slurmSideOf('local-a', lookalike).some((p) => p.pid === 50));
  });
});
