import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a tag is checked against: the job as we stored it. */
export interface TaggedJob {
  id: string;
  /** The POSIX user the job was submitted as. */
  slurm_user: string;
}

interface Claim {
  jobId: string;
  /** null for a tag written before control planes had a key (no proof). */
  proof: { attempt: number; mac: Buffer } | null;
}

/** 128 bits of HMAC-SHA256: 22 base64url characters in every comment. */
const MAC_BYTES = 16;
const MAC_TEXT = 22;
/** Verdicts kept so a listing's many records of one array cost one HMAC, not one each. */
const VERDICT_CACHE = 10_000;

/**
 * Every SLURM job we submit carries our tag in its comment:
 *
 *   archipelago:<instance>:job=<id>:<attempt>:<mac>
 *
 * Dispatch recovery uses it to find a job an earlier attempt already submitted, and the follower and
 * accounting to make sure a SLURM record under a job's recorded id is still that job's. Comments are
 * public (`squeue -a -o %k`) and anyone can submit a job with any comment, so a tag proves nothing by
 * itself. The mac (HMAC-SHA256 under a key only this control plane holds, in its database) binds
 * the tag to the job, the attempt and the POSIX user it was submitted as; a record counts as ours only
 * when SLURM says that same user owns it. A tag copied whole into another user's job therefore never
 * verifies, and its owner cannot make a tag for a job or attempt the control plane never submitted.
 * The instance keeps two control planes (or two test databases) sharing a cluster apart.
 *
 * Upgrades: tags written before a control plane had a key (`archipelago:<instance>:job=<id>`, and
 * still by old workers during a rolling upgrade) carry no mac. Under a job's recorded SLURM id such a
 * tag is accepted with the owner check: nobody else can hold that id, so in-flight jobs never become
 * LOST. Dispatch recovery has no recorded id, so there it counts only for jobs accepted before the key
 * was created; for any later job a tag without a mac is a forgery.
 */
export class JobTagger {
  private readonly pattern: RegExp;
  private readonly verdicts = new Map<string, boolean>();

  constructor(
    private readonly instance: string,
    private readonly key: Buffer,
    /** When the key was created: jobs accepted before it may be recovered by tags without a mac. */
    private readonly keyCreatedAt: Date,
  ) {
    if (!/^[a-z0-9-]{1,32}$/.test(instance)) throw new Error(`invalid instance id ${instance}`);
    if (key.length < 32) throw new Error('the job tag key must have at least 32 bytes');
    this.pattern = new RegExp(`^archipelago:${instance}:job=(\\d{1,18})(?::(\\d{1,9}):([A-Za-z0-9_-]{${MAC_TEXT}}))?(?:\\s|$)`);
  }

  /** The comment for submit attempt `attempt` (1, 2, ...) of a job submitted as `slurmUser`. */
  tag(jobId: string, attempt: number, slurmUser: string, userComment?: string): string {
    const tag = `archipelago:${this.instance}:job=${jobId}:${attempt}:${this.mac(jobId, attempt, slurmUser).toString('base64url')}`;
    return userComment ? `${tag} ${userComment}` : tag;
  }

  /** The job id a comment names, unverified: a candidate to check with `vouches`, never proof. */
  jobIdFrom(comment: string | undefined | null): string | null {
    return this.claimOf(comment)?.jobId ?? null;
  }

  /**
   * Whether a SLURM record found under `job`'s recorded SLURM id, owned by `owner` (the user SLURM
   * reports), is that job's: our tag for it, the job's user, and a mac that verifies for that user
   * (or no mac at all: see Upgrades above).
   */
  vouches(comment: string | undefined | null, owner: string, job: TaggedJob): boolean {
    const claim = this.claimFor(comment, owner, job);
    return claim !== null && (claim.proof === null || this.verified(claim.jobId, claim.proof, owner));
  }

  /**
   * Whether a SLURM job found by its tag alone (dispatch recovery: no SLURM id was recorded) was
   * submitted by an attempt of `job` before `attempt`: as `vouches`, and a tag without a mac only
   * for a job accepted before the key existed.
   */
  vouchesForEarlierAttempt(comment: string | undefined | null, owner: string, job: TaggedJob & { submitted_at: Date }, attempt: number): boolean {
    const claim = this.claimFor(comment, owner, job);
    if (claim === null) return false;
    if (claim.proof === null) return new Date(job.submitted_at).getTime() < this.keyCreatedAt.getTime();
    return claim.proof.attempt < attempt && this.verified(claim.jobId, claim.proof, owner);
  }

  /** The comment's claim when it names this job and SLURM says the job's user owns the record. */
  private claimFor(comment: string | undefined | null, owner: string, job: TaggedJob): Claim | null {
    const claim = this.claimOf(comment);
    return claim && claim.jobId === job.id && owner === job.slurm_user ? claim : null;
  }

  private claimOf(comment: string | undefined | null): Claim | null {
    const match = comment ? this.pattern.exec(comment) : null;
    if (!match) return null;
    return { jobId: match[1], proof: match[2] === undefined ? null : { attempt: Number(match[2]), mac: Buffer.from(match[3], 'base64url') } };
  }

  private verified(jobId: string, proof: { attempt: number; mac: Buffer }, owner: string): boolean {
    const key = `${jobId}:${proof.attempt}:${proof.mac.toString('base64url')}:${owner}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = proof.mac.length === MAC_BYTES && timingSafeEqual(proof.mac, this.mac(jobId, proof.attempt, owner));
      if (this.verdicts.size >= VERDICT_CACHE) this.verdicts.clear();
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  private mac(jobId: string, attempt: number, slurmUser: string): Buffer {
    return createHmac('sha256', this.key)
      .update(`archipelago-job-tag-v1\n${this.instance}\n${jobId}\n${attempt}\n${slurmUser}`)
      .digest()
      .subarray(0, MAC_BYTES);
  }
}
