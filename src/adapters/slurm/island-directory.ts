import { type IslandSettings } from '../config/islands-file';
import { TenantAccounts } from './tenant-accounts';
import type { JobFiles } from '../../core/slurm/job-files.port';
import type { SlurmClient } from '../../core/slurm/slurm-client.port';
import type { IslandProfile } from '../../core/placement/capacity';

export interface Island {
  settings: IslandSettings;
  slurm: SlurmClient;
  /** Who may be a tenant on this island (its user database under its rules); submissions are checked against it. */
  tenants: TenantAccounts;
  files: JobFiles;
  /** Configured in the islands file, or formed by the topology loop. */
  origin: 'file' | 'topology';
  /** Formed islands: tier, bound and what the members say (regions, providers, performance). */
  profile?: IslandProfile;
}

/**
 * The islands this process drives, as the other features see them (the islands feature keeps the
 * list current: islands file plus what the topology loop launched).
 */
export interface IslandDirectory {
  all(): Island[];
  get(name: string): Island | undefined;
  /** Every island's partition names (what `--partition` may name). */
  partitions(): ReadonlySet<string>;
  /** Users no island lets a tenant be (service accounts, low uids). */
  deniedTenantUsers(): ReadonlySet<string>;
  /** Where job files may live, checked at submit before a job is placed (the first island's roots). */
  workdirRoots(): string[];
  /** Picks up islands launched or retired since the last periodic sync; the names that changed. */
  sync(): Promise<string[]>;
  /** An island is being launched or retired (its SLURM is not the capacity to come yet). */
  transitioning(): Promise<boolean>;
}

export const ISLAND_DIRECTORY = Symbol('ISLAND_DIRECTORY');
