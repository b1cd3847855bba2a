import type { AccountingRun } from '../../core/usage/accounting';
import type { PosixAccounts } from './posix-accounts';
import { tenantAccountRefusal, type PosixAccount, type TenantAccountPolicy, type TenantAccountRefusal } from '../../core/slurm/posix-user';
import {
  SubmissionImpossibleError,
  type SlurmClient,
  type SlurmJobRecord,
  type SlurmJobState,
  type SlurmJobSnapshot,
  type SlurmNodeRecord,
  type SlurmPing,
  type SlurmSubmitRequest,
  type SlurmSubmitResult,
  type SlurmTimestamp,
} from '../../core/slurm/slurm-client.port';
import type { SubmitFeature } from '../../core/sbatch/submit-features';

/** How long an account found fit for tenants is trusted before the island is asked again. */
const VERIFIED_FOR_MS = 60_000;

/**
 * One island's view of who may be a tenant there: the rules (minimum uid, service accounts) applied
 * to what the island's user database says. A verdict of "fit" is kept a minute, so dispatch asks the
 * island once per owner and minute, not once per job; a refusal is never kept (fixing the account
 * takes effect at the next job).
 */
export class TenantAccounts {
  private readonly verified = new Map<string, number>();
  private readonly asking = new Map<string, Promise<TenantAccountRefusal | null>>();

  constructor(
    readonly island: string,
    readonly policy: TenantAccountPolicy,
    private readonly accounts: PosixAccounts,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Why `user` cannot be a tenant here, or null. Throws SlurmUnavailableError when the island cannot be asked. */
  async refusal(user: string): Promise<TenantAccountRefusal | null> {
    if ((this.verified.get(user) ?? 0) > this.clock()) return null;
    let pending = this.asking.get(user);
    if (!pending) {
      pending = this.inspect(user)
        .then((verdict) => verdict.refusal)
        .finally(() => this.asking.delete(user));
      this.asking.set(user, pending);
    }
    return pending;
  }

  /** Asks the island now: the account it knows (null: none) and the verdict on it. */
  async inspect(user: string): Promise<{ account: PosixAccount | null; refusal: TenantAccountRefusal | null }> {
    const account = await this.accounts.lookupAccount(user);
    const refusal = tenantAccountRefusal(this.island, user, account, this.policy);
    if (refusal) this.verified.delete(user);
    else this.verified.set(user, this.clock() + VERIFIED_FOR_MS);
    return { account, refusal };
  }
}

/**
 * A SlurmClient that submits only for an owner the island accepts as a tenant: an account that
 * exists there, at or above the island's minimum uid, and no service's. Otherwise the submission
 * is impossible (the job ends FAILED with the reason): SLURM would take a job for an unknown user
 * and requeue it forever, and an SSH login as one would be retried forever.
 */
export class TenantCheckedSlurmClient implements SlurmClient {
  constructor(
    private readonly inner: SlurmClient,
    private readonly tenants: TenantAccounts,
    private readonly release: () => Promise<void> = async () => undefined,
  ) {}

  async submit(user: string, request: SlurmSubmitRequest): Promise<SlurmSubmitResult> {
    const refusal = await this.tenants.refusal(user);
    if (refusal) throw new SubmissionImpossibleError(refusal.reason);
    return this.inner.submit(user, request);
  }

  listJobs(since?: SlurmTimestamp): Promise<SlurmJobSnapshot | null> {
    return this.inner.listJobs(since);
  }

  getJob(jobId: number): Promise<SlurmJobRecord[]> {
    return this.inner.getJob(jobId);
  }
  jobStates(jobIds: readonly number[]): Promise<SlurmJobState[] | null> {
    return this.inner.jobStates(jobIds);
  }

  cancel(user: string, jobId: number): Promise<void> {
    return this.inner.cancel(user, jobId);
  }

  setHold(user: string, jobId: number, hold: boolean): Promise<void> {
    return this.inner.setHold(user, jobId, hold);
  }

  listNodes(): Promise<SlurmNodeRecord[]> {
    return this.inner.listNodes();
  }

  runsOf(slurmJobIds: readonly number[]): Promise<AccountingRun[]> {
    return this.inner.runsOf(slurmJobIds);
  }

  unsendable(): Promise<readonly SubmitFeature[]> {
    return this.inner.unsendable();
  }

  submitSettleMs(): number {
    return this.inner.submitSettleMs();
  }

  ping(): Promise<SlurmPing> {
    return this.inner.ping();
  }

  async close(): Promise<void> {
    await Promise.all([this.inner.close(), this.release()]);
  }
}
