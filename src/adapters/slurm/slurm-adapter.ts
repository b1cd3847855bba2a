import type { SlurmClient } from '../../core/slurm/slurm-client.port';
import type { PosixAccounts } from './posix-accounts';
import type { RemoteFiles } from './ssh/remote-files';

/** The island's login node over SSH, as each user: its user database and that user's files (SFTP). */
export interface LoginNode extends PosixAccounts {
  /** Runs `fn` with `user`'s files over one SFTP session as that user. */
  withFiles<T>(user: string, fn: (files: RemoteFiles) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A SlurmClient as an adapter builds it, before wrappers (tenant checks, metrics) are put around it.
 * It also says whether it already holds SSH sessions to the island's login node, which SFTP file
 * access and account look-ups then share: one SSH pool per island, closed with the adapter.
 */
export interface SlurmAdapter extends SlurmClient {
  /** The SSH sessions this adapter drives the island with (its own, or its fallback's), or null. */
  loginNode(): LoginNode | null;
}
