import { after } from 'node:test';
import { join } from 'node:path';
import { parseIslandsFile } from '../../src/adapters/config/islands-file';
import { SshPool } from '../../src/adapters/slurm/ssh/ssh-pool';
import { renderSlurmCommand } from '../../src/adapters/slurm/ssh/ssh-commands';
import { REPO } from '../support/control-plane';
import { slurmContractSuite } from './slurm-contract';

/**
 * The adapter contract against the SLURM 24.11 island `local-c` (scripts/stack/infra-up.sh), as the
 * control plane reaches it: its islands-file entry, REST at whatever version it negotiates, SSH to
 * its own sshd (24.11's sbatch, squeue/scontrol/sacct --json). listNodes is checked against 24.11's
 * own node records (`scontrol --json show nodes`), read over that sshd.
 */
const STACK = process.env.ARCH_STACK_DIR ?? join(REPO, '.stack');
const ISLAND = process.env.ARCH_TEST_2411_ISLAND ?? 'local-c';
const OWNER = process.env.ARCH_TEST_JOB_USER ?? 'alice';
let oracle: SshPool | undefined;
after(() => oracle?.close());

slurmContractSuite(() => {
  const island = parseIslandsFile(join(STACK, 'islands.json')).find((i) => i.connection.name === ISLAND);
  if (!island?.connection.rest || !island.connection.ssh)
    throw new Error(`${ISLAND} with rest and ssh sections is not in ${STACK}/islands.json: start the stack (scripts/stack/infra-up.sh)`);
  const { connection } = island;
  const ssh = connection.ssh!;
  oracle ??= new SshPool({
    host: ssh.host,
    port: ssh.port,
    privateKey: ssh.privateKey,
    hostKeySha256: ssh.hostKeySha256,
    maxConnectionsPerUser: 1,
    connectTimeoutMs: 10_000,
  });
  const pool = oracle;
  return {
    label: '24.11',
    rest: { ...connection, adapter: 'rest', fallback: undefined },
    ssh: { ...connection, adapter: 'ssh', fallback: undefined },
    jobUser: OWNER,
    workdir: `/home/${OWNER}`,
    nodesJson: async () => {
      const result = await pool.exec(connection.readUser, renderSlurmCommand(ssh.commandEnvironment, ['scontrol', '--json', 'show', 'nodes']), {
        timeoutMs: 20_000,
      });
      if (result.code !== 0) throw new Error(`scontrol --json show nodes on ${ISLAND}: ${result.stderr}`);
      return result.stdout;
    },
  };
});
