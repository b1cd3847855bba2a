import type { SlurmClient } from '../../core/slurm/slurm-client.port';
import type { SshSlurmClient } from './ssh/ssh-slurm-client';

/**
 * A SlurmClient as an adapter builds it, before wrappers (tenant checks, metrics) are put around it.
 * It also says whether it already holds SSH sessions to the island's login node, which SFTP file
 * access and account look-ups then share: one SSH pool per island, closed with the adapter.
 */
export interface SlurmAdapter extends SlurmClient {
  /** The SSH adapter this one drives the island with (itself, or a fallback's), or null. */
  loginNode(): SshSlurmClient | null;
}
