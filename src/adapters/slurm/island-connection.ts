import type { RestApiVersion } from './rest/rest-api-version';

/** How the control plane reaches one island's SLURM. Loaded from configuration (see src/adapters/config). */
export interface IslandConnection {
  /** The island's name; also SLURM's ClusterName. */
  name: string;
  /** Which adapter submits and follows jobs. */
  adapter: 'rest' | 'ssh';
  rest?: RestConnection;
  ssh?: SshConnection;
  /**
   * `ssh`: a REST island whose slurmrestd cannot be connected to is driven over its `ssh` section
   * meanwhile (same SLURM, same users). Without it, dispatch backs off and retries until REST is back.
   */
  fallback?: 'ssh';
  /**
   * An unprivileged POSIX account used only to read the queue and ping the controller. Never
   * used to submit, cancel or hold: those always run as the job's owner.
   */
  readUser: string;
}

export interface RestConnection {
  /** e.g. http://127.0.0.1:7820 */
  url: string;
  /** The slurmrestd API to speak; unset: the newest one the island serves, found at the first call. */
  apiVersion?: RestApiVersion;
  /** The island's HS256 key (the file slurm.conf's AuthAltParameters=jwt_key names). */
  jwtKey: Buffer;
  /** Lifetime of each per-user token; short, so a leaked token is worth little. */
  tokenLifetimeSeconds: number;
  /** Keep-alive sockets; must stay at or below slurmrestd's thread count (-t). */
  connections: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

export interface SshConnection {
  host: string;
  port: number;
  /** Private key the control plane authenticates with as each job owner. */
  privateKey: Buffer;
  /** Pinned host key fingerprint (`SHA256:<base64>`, as `ssh-keygen -lf` prints it). */
  hostKeySha256: string;
  /** Prefix for SLURM commands, e.g. `SLURM_CONF=/etc/archipelago/islands/a/slurm.conf`. */
  commandEnvironment: Record<string, string>;
  /** Idle connections kept per user. */
  maxConnectionsPerUser: number;
  timeoutMs: number;
}
