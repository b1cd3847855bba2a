import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ISLAND_DIRECTORY, type IslandDirectory } from '../../adapters/slurm/island-directory';
import { mapLimit } from '../../core/common/map-limit';
import { repeatEvery } from '../../core/common/repeat';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { JobTagger } from '../../core/dispatch/job-tag';
import { cpuTimesOf, masterIdOf, type AccountingRun, type AccountingSource } from '../../core/usage/accounting';
import { accountingIncomplete } from '../../core/usage/accounting-readiness';
import { costOf, PRICING_VERSION } from '../../core/usage/pricing';
import { REFERENCE_BENCHMARK_SCORE, splitRewards } from '../../core/usage/rewards';
import { usageSignerFromPem, type UsageSigner } from '../../core/usage/signer';
import { computeUsage } from '../../core/usage/usage-metrics';
import { buildUsageRecord, epochOf } from '../../core/usage/usage-record';
import { UsageRepository } from './usage.repository';
import { type UnaccountedJob } from '../../core/usage/accounting-queue';
import { ACCOUNTING_QUEUE, type AccountingQueue } from '../../core/usage/accounting-queue';
import { NODE_FACTS, type NodeFactsSource } from '../../core/nodes/node-facts';

/** Jobs looked at per tick (and per accounting request: one request per island covers them all). */
const BATCH = 100;
/** Jobs whose records are computed and written at once. */
const PARALLEL_WRITES = 4;
/** How long a worker holds the jobs it took (a dead worker's jobs come back after this). */
const LEASE_SECONDS = 15;
/** Accounting not there yet: retry after 2^attempts seconds, at most this long. */
const MAX_RETRY_SECONDS = 300;

/**
 * Step 4 of the job flow ("Account"): for every job that reached a terminal state on an island with
 * accounting, read SLURM's accounting records, compute usage, bill and split rewards, build and
 * sign the usage record, and store it with its outbox entry in the transaction that marks the job
 * accounted. PostgreSQL drives it: the first tick runs at start, so whatever a crashed worker left
 * unaccounted is picked up again (reconcile on start), and a job already accounted is never
 * accounted twice (the transaction's guard plus a unique key per job and per SLURM identity). Jobs
 * are leased per pass, so several workers share the work instead of repeating it; a worker killed
 * mid-pass leaves its jobs to the others (or to itself after a restart) once the lease runs out.
 */
@Injectable()
export class AccountingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AccountingService.name);
  private readonly signer: UsageSigner | null;
  private readonly tagger: JobTagger;
  private readonly sources = new Map<string, AccountingSource>();
  private stop: (() => void) | null = null;

  constructor(
    private readonly usage: UsageRepository,
    @Inject(ACCOUNTING_QUEUE) private readonly queue: AccountingQueue,
    @Inject(NODE_FACTS) private readonly nodes: NodeFactsSource,
    @Inject(ISLAND_DIRECTORY) islands: IslandDirectory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.signer = config.usage.signingKeyPem ? usageSignerFromPem(config.usage.signingKeyPem) : null;
    this.tagger = new JobTagger(config.instanceId, config.tagKey.key, config.tagKey.createdAt);
    for (const island of islands.all()) {
      if (island.settings.accounting) this.sources.set(island.settings.connection.name, island.slurm);
    }
  }

  onApplicationBootstrap(): void {
    if (this.sources.size === 0) return;
    if (!this.signer) {
      this.logger.warn('no ARCHIPELAGO_USAGE_SIGNING_KEY_FILE: usage accounting is off (records are never written unsigned)');
      return;
    }
    this.logger.log(`accounting islands ${[...this.sources.keys()].join(', ')}; records signed with ${this.signer.algorithm}`);
    this.stop = repeatEvery(
      this.config.usage.intervalMs,
      () => this.accountDue(),
      (error) => this.logger.warn(`accounting failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }

  /** One pass over the jobs due; returns how many records this pass wrote. */
  async accountDue(): Promise<number> {
    const due = await this.queue.lease([...this.sources.keys()], BATCH, LEASE_SECONDS);
    let written = 0;
    for (const [island, jobs] of groupBy(due, (job) => job.island)) {
      let runs: AccountingRun[];
      try {
        runs = await this.sources.get(island)!.runsOf(jobs.map((job) => Number(job.slurm_job_id)));
      } catch (error) {
        const reason = `accounting read failed: ${(error as Error).message}`;
        this.logger.warn(`${island}: ${reason}`);
        await Promise.all(jobs.map((job) => this.queue.retryLater(job.id, reason, this.backoff(job))));
        continue;
      }
      const byMaster = groupBy(runs, (run) => masterIdOf(run));
      const results = await mapLimit(jobs, PARALLEL_WRITES, (job) =>
        this.account(job, byMaster.get(Number(job.slurm_job_id)) ?? []).catch((error: Error) => {
          this.logger.warn(`job ${job.id}: accounting failed: ${error.message}`);
          return this.queue.retryLater(job.id, `accounting failed: ${error.message}`, this.backoff(job)).then(() => false);
        }),
      );
      written += results.filter(Boolean).length;
    }
    return written;
  }

  private async account(job: UnaccountedJob, records: AccountingRun[]): Promise<boolean> {
    // The records under the job's recorded SLURM id that its user owns and that carry our tag for
    // it with a mac that verifies: a SLURM id reused after a state wipe, or another control plane's
    // job under the same id, is somebody else's usage. When accounting names no user (slurmdbd
    // knows no association for it), the recorded id and the mac, made for the job's user, decide.
    const runs = records.filter((r) => this.tagger.vouches(r.comment, r.user ?? job.slurm_user, job));
    const missing = accountingIncomplete(runs, job.array_size, Math.floor(Date.now() / 1000));
    if (missing) {
      const waited = (Date.now() - new Date(job.ended_at).getTime()) / 1000;
      if (waited > this.config.usage.giveUpAfterSeconds) {
        this.logger.warn(`job ${job.id}: giving up on accounting after ${Math.round(waited)} s: ${missing}`);
        await this.queue.giveUp(job.id, missing);
      } else {
        await this.queue.retryLater(job.id, missing, this.backoff(job));
      }
      return false;
    }
    const facts = new Map((await this.nodes.nodeFacts([...new Set(runs.flatMap((r) => r.nodes))])).map((n) => [n.name, n]));
    const usage = computeUsage(job.island, runs, { gpuModelOf: (node) => facts.get(node)?.gpu_model ?? undefined });
    const prices = this.config.usage.prices.islands[job.island] ?? this.config.usage.prices.default;
    const billed = costOf(usage.metrics, prices);
    const rewards = splitRewards(
      billed,
      usage.nodes.map((n) => ({
        node: n.node,
        // a node nobody registered (an island's own static nodes) is paid to the island's operator
        provider: facts.get(n.node)?.provider_id ?? `island:${job.island}`,
        nodeSeconds: n.nodeSeconds,
        benchmarkScore: facts.get(n.node)?.benchmark_score ?? REFERENCE_BENCHMARK_SCORE,
      })),
      this.config.usage.shares,
    );
    const lastEnd = Math.max(...runs.map((r) => r.endTime ?? 0), Math.floor(new Date(job.ended_at).getTime() / 1000));
    const epoch = epochOf(lastEnd, this.config.usage.epochSeconds);
    const record = buildUsageRecord({
      jobId: job.id,
      ownerId: job.owner_id,
      state: job.state,
      usage,
      billing: { pricing: PRICING_VERSION, denom: prices.denom, rewards },
      epoch,
    });
    const signer = this.signer!;
    const written = await this.usage.saveAccounted(
      {
        job,
        record,
        signature: signer.sign(record.contentHash),
        algorithm: signer.algorithm,
        publicKey: signer.publicKey,
        denom: prices.denom,
        billed,
        epoch,
        rewards,
        cpuTimes: cpuTimesOf(runs),
      },
      this.config.usage.commitDelayMs > 0 ? () => new Promise((r) => setTimeout(r, this.config.usage.commitDelayMs)) : undefined,
    );
    if (written) this.logger.log(`job ${job.id}: usage record ${record.contentHash.slice(0, 12)} billed ${billed} ${prices.denom}`);
    return written;
  }

  private backoff(job: UnaccountedJob): number {
    return Math.min(MAX_RETRY_SECONDS, 2 ** Math.min(job.accounting_attempts, 16));
  }
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
