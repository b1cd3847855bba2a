import type { DataSource } from 'typeorm';
import type { ChainQueries } from '../../adapters/chain/chain-port';
import { toChainUsageMetrics } from '../../core/usage/chain-usage-metrics';
import type { UsageRecordInput } from '../../core/usage/usage-record';
import type { BroadcastJournal, OutboxEntry, ReportOutcome, UsageReporter } from '../../core/usage/usage-reporter.port';
import type { ChainSender, Resolution, SendItem } from './chain-sender';
import { chainStateName, chainTerminalState, jobStatusMessages, remainingTransitions } from './job-report';
import { type JobOutcomes } from '../../core/jobs/job-outcomes';
import { rows } from '../../adapters/postgres/sql';

interface JobFacts {
  id: string;
  exit_code: number | null;
  chain_job_id: string | null;
}

/** x/hpc ErrInvalidJobState (2107): the transition we built no longer starts from the chain's state. */
const MOVED_MEANWHILE = /invalid job state transition/;

/** Chain job lookups run this many at a time. */
const LOOKUP_CONCURRENCY = 16;

/**
 * The chain UsageReporter: each usage outbox entry becomes its job's remaining MsgReportJobStatus
 * messages (QUEUED, RUNNING, terminal with metrics and signature — whatever the chain's job does
 * not have yet), sent many to a transaction by the ChainSender. An entry journaled earlier
 * (BROADCAST) is first looked up by its hash: committed, still pending, or dead — and only then
 * built again, from the chain's current state, so no (job, state) is ever sent twice.
 */
export class ChainUsageReporter implements UsageReporter {
  constructor(
    private readonly db: DataSource,
    private readonly chain: Pick<ChainQueries, 'hpcJob'>,
    /** The provider's sender, connected on first use (a chain down at start must not stop the worker). */
    private readonly connect: () => Promise<ChainSender>,
    private readonly jobs: JobOutcomes,
  ) {}

  async report(entries: OutboxEntry[], journal: BroadcastJournal): Promise<Map<string, ReportOutcome>> {
    const sender = await this.connect();
    const outcomes = new Map<string, ReportOutcome>();
    const resolutions = new Map<string, Promise<Resolution>>();
    const toBuild: OutboxEntry[] = [];
    for (const entry of entries) {
      if (entry.status !== 'BROADCAST' || !entry.txHash) {
        toBuild.push(entry);
        continue;
      }
      if (!resolutions.has(entry.txHash)) resolutions.set(entry.txHash, sender.resolve(entry.txHash));
      const resolution = await resolutions.get(entry.txHash)!;
      if (resolution.kind === 'committed') outcomes.set(entry.usageRecordId, { kind: 'committed', txHash: entry.txHash });
      else if (resolution.kind === 'pending') outcomes.set(entry.usageRecordId, { kind: 'broadcast', txHash: entry.txHash });
      else toBuild.push(entry);
    }
    const items = await this.build(sender, toBuild, outcomes);
    const sent = await sender.send(items, (keys, tx) => journal.markBroadcast(keys, tx.hash));
    for (const [key, outcome] of sent) {
      if (outcome.kind === 'committed') outcomes.set(key, { kind: 'committed', txHash: outcome.txHash });
      else if (outcome.kind === 'rejected' && MOVED_MEANWHILE.test(outcome.reason)) {
        // Chain ingress reported QUEUED / RUNNING (or the chain ended the job) between our read and
        // our send: built again from the chain's new state next time, so nothing is sent twice.
        outcomes.set(key, { kind: 'retry', reason: `the chain's job moved meanwhile: ${outcome.reason}` });
      } else outcomes.set(key, outcome);
    }
    return outcomes;
  }

  private async build(sender: ChainSender, entries: OutboxEntry[], outcomes: Map<string, ReportOutcome>): Promise<SendItem[]> {
    if (entries.length === 0) return [];
    const jobIds = entries.map((e) => e.jobId);
    const [exitCodes, links] = await Promise.all([
      this.jobs.exitCodes(jobIds),
      rows<{ job_id: string; chain_job_id: string }>(this.db, 'SELECT job_id::text, chain_job_id FROM chain_job_links WHERE job_id = ANY($1::bigint[])', [
        jobIds,
      ]),
    ]);
    const chainJobOf = new Map(links.map((l) => [l.job_id, l.chain_job_id]));
    const facts = new Map<string, JobFacts>(
      [...exitCodes].map(([id, exitCode]) => [id, { id, exit_code: exitCode, chain_job_id: chainJobOf.get(id) ?? null }]),
    );
    const items: Array<SendItem | null> = new Array(entries.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const i = next++;
        const entry = entries[i];
        const built = await this.buildOne(sender, entry, facts.get(entry.jobId));
        if ('messages' in built) items[i] = built;
        else outcomes.set(entry.usageRecordId, built);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, entries.length) }, worker));
    return items.filter((item): item is SendItem => item !== null);
  }

  private async buildOne(sender: ChainSender, entry: OutboxEntry, facts: JobFacts | undefined): Promise<SendItem | ReportOutcome> {
    if (!facts?.chain_job_id) return { kind: 'skipped', reason: `job ${entry.jobId} was not submitted on chain (no chain job): nothing to report` };
    const record = JSON.parse(entry.canonical) as UsageRecordInput;
    const terminal = chainTerminalState(record.state);
    if (terminal === null) return { kind: 'rejected', reason: `job ${entry.jobId} ended ${record.state}, which is not a terminal state` };
    const chainJob = (await this.chain.hpcJob(facts.chain_job_id))?.job;
    if (!chainJob) return { kind: 'rejected', reason: `the chain has no job ${facts.chain_job_id}` };
    if (chainJob.providerAddress !== sender.address) {
      return { kind: 'rejected', reason: `chain job ${facts.chain_job_id} belongs to provider ${chainJob.providerAddress}, not to us (${sender.address})` };
    }
    const plan = remainingTransitions(chainJob.state, terminal, record.usage.metrics.started);
    if ('refusal' in plan) return { kind: 'rejected', reason: `chain job ${facts.chain_job_id}: ${plan.refusal}` };
    if (plan.states.length === 0) return { kind: 'skipped', reason: `chain job ${facts.chain_job_id} is already ${chainStateName(terminal)}` };
    const ends = record.usage.runs.map((run) => run.endTime ?? 0);
    return {
      key: entry.usageRecordId,
      messages: jobStatusMessages({
        provider: sender.address,
        chainJobId: facts.chain_job_id,
        slurmJobId: entry.slurmJobId,
        states: plan.states,
        ourState: record.state,
        exitCode: facts.exit_code ?? 0,
        metrics: toChainUsageMetrics(record.usage.metrics),
        contentHash: entry.contentHash,
        signature: entry.signature,
        signedAt: Math.max(0, ...ends),
      }),
    };
  }
}
