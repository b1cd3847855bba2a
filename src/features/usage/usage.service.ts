import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { DataSource } from 'typeorm';
import type { Principal } from '../../core/auth/principal';
import { notFound, Problem } from '../../core/common/problem';
import { rows } from '../../adapters/postgres/sql';
import type { RewardsQuery } from './usage.dto';
import { UsageRepository } from './usage.repository';
import { ACCOUNTING_QUEUE, type AccountingQueue } from '../../core/usage/accounting-queue';

/** Read side of usage: a job's record for its owner, reward totals for providers and admins. */
@Injectable()
export class UsageService {
  private readonly accountingIslands: ReadonlySet<string>;

  constructor(
    private readonly db: DataSource,
    private readonly usage: UsageRepository,
    @Inject(ACCOUNTING_QUEUE) private readonly queue: AccountingQueue,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.accountingIslands = new Set(config.islands.filter((i) => i.accounting).map((i) => i.connection.name));
  }

  async jobUsage(principal: Principal, id: string) {
    if (!/^\d{1,18}$/.test(id)) throw notFound(`job ${id}`);
    // Tenant isolation: another principal's job is "not found", exactly like a job that does not exist.
    const row = await this.queue.accountingStatus(principal.id, id);
    if (!row) throw notFound(`job ${id}`);
    const record = await this.usage.recordOf(row.id);
    if (!record) {
      if (row.slurm_job_id !== null && !this.accountingIslands.has(row.island ?? '')) {
        return { jobId: row.id, status: 'NOT_ACCOUNTED', note: `island ${row.island} has no SLURM accounting` };
      }
      const status = row.slurm_job_id === null ? 'NONE' : row.ended_at === null ? 'RUNNING' : isInfinity(row.accounting_next_at) ? 'GAVE_UP' : 'PENDING';
      return { jobId: row.id, status, ...(row.accounting_note ? { note: row.accounting_note } : {}) };
    }
    return {
      jobId: row.id,
      status: 'ACCOUNTED',
      accountedAt: row.accounted_at,
      record: JSON.parse(record.canonical),
      contentHash: record.content_hash,
      signature: { algorithm: record.signature_algorithm, publicKey: record.signer_public_key, value: record.signature.toString('base64') },
      report: {
        status: record.outbox_status,
        ...(record.tx_hash ? { txHash: record.tx_hash } : {}),
        ...(record.last_error ? { lastError: record.last_error } : {}),
      },
    };
  }

  async rewards(principal: Principal, query: RewardsQuery) {
    const provider = rewardsViewer(principal) === 'provider';
    if (provider && query.provider !== undefined && query.provider !== principal.id) {
      throw new Problem(403, 'Forbidden', 'a provider admin sees only its own rewards: leave out provider or give your own id', { field: 'provider' });
    }
    const providerFilter = provider ? principal.id : (query.provider ?? null);
    const items = await rows<{ epoch: number; kind: string; beneficiary: string; provider: string | null; denom: string; amount: string; jobs: number }>(
      this.db,
      `SELECT epoch, kind, beneficiary, provider, denom, sum(amount)::text AS amount, count(*)::int AS jobs
         FROM usage_rewards
        WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR (kind = 'node' AND beneficiary = $2))
          AND ($3::int IS NULL OR epoch = $3)
        GROUP BY epoch, kind, beneficiary, provider, denom
        ORDER BY epoch DESC, kind, beneficiary
        LIMIT 1000`,
      [providerFilter, query.node ?? null, query.epoch ?? null],
    );
    return { formula: 'archipelago.rewards/v1', items };
  }

  async jobRewards(principal: Principal, id: string) {
    const viewer = rewardsViewer(principal);
    if (!/^\d{1,18}$/.test(id)) throw notFound(`rewards of job ${id}`);
    const lines = await rows<{
      kind: string;
      beneficiary: string;
      provider: string | null;
      weight: string | null;
      amount: string;
      denom: string;
      epoch: number;
    }>(
      this.db,
      `SELECT kind, beneficiary, provider, weight::text, amount::text, denom, epoch FROM usage_rewards
        WHERE job_id = $1 AND ($2::text IS NULL OR provider = $2) ORDER BY kind, beneficiary`,
      [id, viewer === 'provider' ? principal.id : null],
    );
    // a provider with no line in the job learns nothing about it, not even that it exists
    if (lines.length === 0) throw notFound(`rewards of job ${id}`);
    return { jobId: id, formula: 'archipelago.rewards/v1', lines };
  }
}

/** Who may read rewards: platform admins everything, provider admins their own lines. */
function rewardsViewer(principal: Principal): 'admin' | 'provider' {
  if (principal.kind === 'platform_admin' && principal.scopes.has('admin')) return 'admin';
  if (principal.kind === 'provider_admin' && principal.scopes.has('provider')) return 'provider';
  throw new Problem(403, 'Forbidden', 'rewards need a provider admin key with the provider scope, or a platform admin key', {
    requiredScopes: ['provider'],
  });
}

function isInfinity(value: Date | null): boolean {
  return value !== null && !Number.isFinite(new Date(value).getTime());
}
