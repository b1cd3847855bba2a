import { readFileSync } from 'node:fs';
import type { IslandConnection } from '../../src/adapters/slurm/island-connection';

/**
 * Connection facts for the integration tests against a real island, from the environment.
 * Missing variables are an error, not a skip: a test run that silently skips SLURM proves nothing.
 *
 *   ARCH_TEST_REST_URL                  e.g. http://127.0.0.1:7820
 *   ARCH_TEST_JWT_KEY_FILE              e.g. /var/lib/archipelago/islands/local-a/jwt_hs256.key
 *   ARCH_TEST_SSH_PORT                  e.g. 2222 (host: ARCH_TEST_SSH_HOST, default 127.0.0.1)
 *   ARCH_TEST_SSH_KEY_FILE              e.g. /var/lib/archipelago/ssh/id_ed25519
 *   ARCH_TEST_SSH_HOST_KEY_SHA256_FILE  e.g. /var/lib/archipelago/ssh/host_key.sha256
 *   ARCH_TEST_SLURM_CONF                e.g. /etc/archipelago/islands/local-a/slurm.conf
 *   ARCH_TEST_JOB_USER                  default alice
 *   ARCH_TEST_READ_USER                 default archipelago
 *   ARCH_TEST_WORKDIR                   default /tmp (job owner must be able to write there)
 */
export interface SlurmTestEnv {
  restUrl: string;
  jwtKey: Buffer;
  sshHost: string;
  sshPort: number;
  sshPrivateKey: Buffer;
  hostKeySha256: string;
  slurmConf: string;
  jobUser: string;
  readUser: string;
  workdir: string;
}

const REQUIRED = [
  'ARCH_TEST_REST_URL',
  'ARCH_TEST_JWT_KEY_FILE',
  'ARCH_TEST_SSH_PORT',
  'ARCH_TEST_SSH_KEY_FILE',
  'ARCH_TEST_SSH_HOST_KEY_SHA256_FILE',
  'ARCH_TEST_SLURM_CONF',
] as const;

export function loadSlurmTestEnv(env: NodeJS.ProcessEnv = process.env): SlurmTestEnv {
  const missing = REQUIRED.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `SLURM integration tests need a running island; missing ${missing.join(', ')}. ` +
        'For the local island: slurm/local/island-up.sh local-a 0 and slurm/local/sshd-up.sh, then see test/support/slurm-env.ts.',
    );
  }
  const read = (name: (typeof REQUIRED)[number]) => {
    const path = env[name] as string;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${name}=${path}: ${(err as Error).message}`);
    }
  };
  const port = Number(env.ARCH_TEST_SSH_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`ARCH_TEST_SSH_PORT is not a port: ${env.ARCH_TEST_SSH_PORT}`);
  return {
    restUrl: env.ARCH_TEST_REST_URL as string,
    jwtKey: read('ARCH_TEST_JWT_KEY_FILE'),
    sshHost: env.ARCH_TEST_SSH_HOST || '127.0.0.1',
    sshPort: port,
    sshPrivateKey: read('ARCH_TEST_SSH_KEY_FILE'),
    hostKeySha256: read('ARCH_TEST_SSH_HOST_KEY_SHA256_FILE').toString('utf8').trim(),
    slurmConf: env.ARCH_TEST_SLURM_CONF as string,
    jobUser: env.ARCH_TEST_JOB_USER || 'alice',
    readUser: env.ARCH_TEST_READ_USER || 'archipelago',
    workdir: env.ARCH_TEST_WORKDIR || '/tmp',
  };
}

export function restIsland(t: SlurmTestEnv): IslandConnection {
  return {
    name: 'test-rest',
    adapter: 'rest',
    readUser: t.readUser,
    rest: { url: t.restUrl, jwtKey: t.jwtKey, tokenLifetimeSeconds: 120, connections: 4, timeoutMs: 10_000 },
  };
}

export function sshIsland(t: SlurmTestEnv, hostKeySha256 = t.hostKeySha256): IslandConnection {
  return {
    name: 'test-ssh',
    adapter: 'ssh',
    readUser: t.readUser,
    ssh: {
      host: t.sshHost,
      port: t.sshPort,
      privateKey: t.sshPrivateKey,
      hostKeySha256,
      commandEnvironment: { SLURM_CONF: t.slurmConf },
      maxConnectionsPerUser: 2,
      timeoutMs: 15_000,
    },
  };
}
