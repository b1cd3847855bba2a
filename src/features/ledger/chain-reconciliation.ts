import type { DataSource } from 'typeorm';
import type { ChainQueries } from '../../adapters/chain/chain-port';
import type { HPCJob } from '../../adapters/chain/generated/virtengine';
import type { StoredHpcReward } from '../../adapters/chain/hpc-job-store';
import { rows } from '../../adapters/postgres/sql';
import { type ChainReconciliationRepository, RECONCILE_OUTCOMES, type ReconcileOutcome } from './chain-reconciliation.repository';
import type { ReportedUsage, ReportedUsageSource } from '../../core/usage/reported-usage';
import { chainStateName, chainTerminalState } from './job-report';

/** Records compared per page. */
const PAGE = 500;

/**
 * What we reported against what the chain holds, for every usage record the chain took: its job
 * (x/hpc's record: state, and the status message naming our signed record's hash) and its reward
 * records (x/hpc pays a job's rewards when its terminal report lands, from the job's accounting
 * record; at 4954b9cc nothing creates that record, so the chain holds none: `no_reward_on_chain`).
 * Both are read from x/hpc's store in one read each. Each record's latest finding is kept in
 * `chain_reconciliation`; the pass returns the count per outcome.
 */
export class ChainReconciler {
  constructor(
    private readonly db: DataSource,
    private readonly findings: ChainReconciliationRepository,
    private readonly chain: Pick<ChainQueries, 'hpcJobs' | 'hpcRewards'>,
    private readonly reported: ReportedUsageSource,
  ) {}

  async pass(): Promise<Record<ReconcileOutcome, number>> {
    const [jobs, rewards] = await Promise.all([this.chain.hpcJobs(), this.chain.hpcRewards()]);
    const chainJobs = new Map(jobs.map((stored) => [stored.job.jobId, stored.job]));
    const rewardsOf = new Map<string, StoredHpcReward[]>();
    for (const reward of rewards) rewardsOf.set(reward.jobId, [...(rewardsOf.get(reward.jobId) ?? []), reward]);
    const counts = Object.fromEntries(RECONCILE_OUTCOMES.map((o) => [o, 0])) as Record<ReconcileOutcome, number>;
    let after = '0';
    for (;;) {
      const page = await this.reported.committedOnChain(after, PAGE);
      if (page.length === 0) break;
      after = page[page.length - 1].recordId;
      const links = await rows<{ job_id: string; chain_job_id: string }>(
        this.db,
        'SELECT job_id::text, chain_job_id FROM chain_job_links WHERE job_id = ANY($1::bigint[])',
        [page.map((r) => r.jobId)],
      );
      const chainJobOf = new Map(links.map((l) => [l.job_id, l.chain_job_id]));
      const findings = page
        .filter((record) => chainJobOf.has(record.jobId))
        .map((record) => {
          const chainJobId = chainJobOf.get(record.jobId)!;
          return { recordId: record.recordId, chainJobId, ...compare(record, chainJobs.get(chainJobId), rewardsOf.get(chainJobId) ?? []) };
        });
      for (const finding of findings) counts[finding.outcome] += 1;
      await this.findings.save(findings);
    }
    return counts;
  }
}

function compare(record: ReportedUsage, chainJob: HPCJob | undefined, rewards: StoredHpcReward[]): { outcome: ReconcileOutcome; detail: string } {
  if (!chainJob) return { outcome: 'missing_on_chain', detail: 'the chain holds no such job' };
  const ours = chainTerminalState(record.state);
  if (chainJob.state !== ours) {
    return {
      outcome: 'state_differs',
      detail: `the chain holds ${chainStateName(chainJob.state)}, we reported ${ours === null ? record.state : chainStateName(ours)}`,
    };
  }
  if (!chainJob.statusMessage.includes(`sha256:${record.contentHash}`)) {
    return { outcome: 'record_differs', detail: `the chain's status message does not name our usage record (${chainJob.statusMessage.slice(0, 120)})` };
  }
  if (rewards.length === 0) return { outcome: 'no_reward_on_chain', detail: 'x/hpc holds no reward record for this job' };
  const paid = rewards.reduce((sum, r) => sum + r.totalReward.filter((c) => c.denom === record.denom).reduce((s, c) => s + BigInt(c.amount || '0'), 0n), 0n);
  if (paid !== BigInt(record.billed)) {
    return { outcome: 'reward_differs', detail: `the chain's rewards total ${paid}${record.denom}, our record billed ${record.billed}${record.denom}` };
  }
  return { outcome: 'matched', detail: `${rewards.length} reward record(s), ${paid}${record.denom}` };
}
