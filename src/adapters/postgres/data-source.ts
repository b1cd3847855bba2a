import { DataSource } from 'typeorm';
import { Initial1764000000000 } from './migrations/1764000000000-initial';
import { Nodes1764100000000 } from './migrations/1764100000000-nodes';
import { Placement1764200000000 } from './migrations/1764200000000-placement';
import { TopologyIslands1764250000000 } from './migrations/1764250000000-topology-islands';
import { PlacementConstraints1764260000000 } from './migrations/1764260000000-placement-constraints';
import { ArrayParts1764270000000 } from './migrations/1764270000000-array-parts';
import { Identity1764300000000 } from './migrations/1764300000000-identity';
import { Delegations1764310000000 } from './migrations/1764310000000-delegations';
import { Usage1764400000000 } from './migrations/1764400000000-usage';
import { Budgets1764400000001 } from './migrations/1764400000001-budgets';
import { AuditLog1764600000000 } from './migrations/1764600000000-audit-log';
import { Ledger1764800000000 } from './migrations/1764800000000-ledger';
import { ChainIngress1764900000000 } from './migrations/1764900000000-chain-ingress';
import { SlurmIdentityLive1765000000000 } from './migrations/1765000000000-slurm-identity-live';
import { ProviderGroups1765030000000 } from './migrations/1765030000000-provider-groups';
import { JobTagKey1765100000000 } from './migrations/1765100000000-job-tag-key';
import { JobDefaultOutput1765100000001 } from './migrations/1765100000001-job-default-output';
import { ApiKeyLineage1765130000000 } from './migrations/1765130000000-api-key-lineage';
import { ChainJobProgress1765170000000 } from './migrations/1765170000000-chain-job-progress';
import { ChainNodeGenerations1765170000001 } from './migrations/1765170000001-chain-node-generations';
import { ChainReconciliation1765170000002 } from './migrations/1765170000002-chain-reconciliation';
import { JobCpuTimes1765200000000 } from './migrations/1765200000000-job-cpu-times';

/** Every schema change, in order. Applied by `runMigrations`; never `synchronize`. */
export const MIGRATIONS = [
  Initial1764000000000,
  Nodes1764100000000,
  Placement1764200000000,
  TopologyIslands1764250000000,
  PlacementConstraints1764260000000,
  ArrayParts1764270000000,
  Identity1764300000000,
  Delegations1764310000000,
  Usage1764400000000,
  Budgets1764400000001,
  AuditLog1764600000000,
  Ledger1764800000000,
  ChainIngress1764900000000,
  SlurmIdentityLive1765000000000,
  ProviderGroups1765030000000,
  JobTagKey1765100000000,
  JobDefaultOutput1765100000001,
  ApiKeyLineage1765130000000,
  ChainJobProgress1765170000000,
  ChainNodeGenerations1765170000001,
  ChainReconciliation1765170000002,
  JobCpuTimes1765200000000,
];

export function createDataSource(databaseUrl: string, poolSize = 20): DataSource {
  return new DataSource({
    type: 'postgres',
    url: databaseUrl,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    extra: { max: poolSize, connectionTimeoutMillis: 5000, statement_timeout: 30000 },
  });
}

/** Serialised across processes: the API and the worker may start at the same moment. */
const MIGRATION_LOCK = 7_641_209_311;

/** What names this control plane's SLURM jobs, and the key that proves the names are ours (src/core/dispatch/job-tag.ts). */
export async function controlPlaneIdentity(dataSource: DataSource): Promise<{ instanceId: string; tagKey: { key: Buffer; createdAt: Date } }> {
  const [row] = await dataSource.query('SELECT instance_id, tag_key, tag_key_created_at FROM control_plane');
  return { instanceId: row.instance_id, tagKey: { key: row.tag_key, createdAt: row.tag_key_created_at } };
}

export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
