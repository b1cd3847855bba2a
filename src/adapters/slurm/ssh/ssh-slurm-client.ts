import { createHash } from 'node:crypto';
import type { IslandConnection, SshConnection } from '../island-connection';
import {
  SlurmRejectedError,
  SlurmUnavailableError,
  SubmissionImpossibleError,
  type SlurmJobRecord,
  type SlurmJobState,
  type SlurmJobSnapshot,
  type SlurmNodeRecord,
  type SlurmPing,
  type SlurmSubmitRequest,
  type SlurmSubmitResult,
  type SlurmTimestamp,
} from '../../../core/slurm/slurm-client.port';
import { assertActingUser, InvalidSlurmUserError, isPosixUserName, type PosixAccount } from '../../../core/slurm/posix-user';
import { accountFromGetent, type PosixAccounts } from '../posix-accounts';
import { shellJoin } from '../../../core/sbatch/render-shell';
import { CLI_UNAVAILABLE, SLURM_ERR, codeFromMessage, normalizeErrors } from '../slurm-errors';
import { toSlurmJobRecord, type V0038JobRecord, type V0042JobRecord } from '../slurm-job-record';
import { toSlurmNodeRecord, type V0038NodeRecord, type V0042NodeRecord } from '../slurm-node-record';
import { CHDIR_FAILED_EXIT, parseParsable, parseScontrolPing, renderSlurmCommand, renderSubmitCommand, slurmErrorText } from './ssh-commands';
import { RemoteFiles } from './remote-files';
import { SshPool, type ExecResult } from './ssh-pool';
import { toAccountingRun, type SlurmDbJob } from '../slurmdb-job-record';
import type { AccountingRun } from '../../../core/usage/accounting';
import type { SlurmAdapter } from '../slurm-adapter';
import type { SubmitFeature } from '../../../core/sbatch/submit-features';

export interface SshSlurmClientOptions {
  /** Close a user's connection after this long without commands. Default 30 s. */
  idleTimeoutMs?: number;
  /** Concurrent channels per connection (below sshd MaxSessions). Default 8. */
  maxChannelsPerConnection?: number;
  /** Extra user names never to connect as (root and slurm are always refused). */
  forbiddenUsers?: string[];
  clock?: () => number;
}

/**
 * SlurmClient over SSH: SLURM's own CLI run as the acting POSIX user on the island's login host
 * (`sbatch --parsable`, `squeue --json`, `scancel`, `scontrol`). Reads and ping run as `readUser`.
 *
 * Heavier than REST for following: squeue has no "changed since" query, so `listJobs(since)` always
 * fetches the whole queue; it returns `null` only when the mapped job set is identical to the last
 * snapshot this client returned (a fingerprint), which spares the caller's work, not SLURM's.
 */
export class SshSlurmClient implements SlurmAdapter, PosixAccounts {
  private readonly pool: SshPool;
  private readonly ssh: SshConnection;
  private readonly readUser: string;
  private readonly forbidden: string[];
  private readonly clock: () => number;
  private last: { asOf: SlurmTimestamp; fingerprint: string } | undefined;
  private nodeListing: 'sinfo' | 'scontrol' = 'sinfo';

  constructor(island: Pick<IslandConnection, 'ssh' | 'readUser'> & { name?: string }, options: SshSlurmClientOptions = {}) {
    if (!island.ssh) throw new Error(`island ${island.name ?? ''}: no ssh connection configured`);
    this.ssh = island.ssh;
    this.forbidden = options.forbiddenUsers ?? [];
    assertActingUser(island.readUser, this.forbidden);
    this.readUser = island.readUser;
    this.clock = options.clock ?? (() => Date.now());
    renderSlurmCommand(this.ssh.commandEnvironment, []); // validates the names early
    this.pool = new SshPool({
      host: this.ssh.host,
      port: this.ssh.port,
      privateKey: this.ssh.privateKey,
      hostKeySha256: this.ssh.hostKeySha256,
      maxConnectionsPerUser: this.ssh.maxConnectionsPerUser,
      maxChannelsPerConnection: options.maxChannelsPerConnection,
      idleTimeoutMs: options.idleTimeoutMs,
      connectTimeoutMs: this.ssh.timeoutMs,
    });
  }

  async submit(user: string, request: SlurmSubmitRequest): Promise<SlurmSubmitResult> {
    const command = renderSubmitCommand(request, this.ssh.commandEnvironment);
    const res = await this.exec(user, command, request.script);
    if (res.code === 0) {
      const { jobId } = parseParsable(res.stdout);
      const warnings = res.stderr
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .map((l) => l.replace(/^sbatch: /, ''));
      return { jobId, warnings };
    }
    if (res.code === CHDIR_FAILED_EXIT) {
      throw new SubmissionImpossibleError(
        `the working directory ${request.workingDirectory} cannot be entered as ${user} on ${this.ssh.host}: ${slurmErrorText(res.stderr) || 'no such directory'}`,
      );
    }
    throw this.cliFailure(res, 'submit');
  }

  async listJobs(since?: SlurmTimestamp): Promise<SlurmJobSnapshot | null> {
    const asOf = Math.floor(this.clock() / 1000);
    const jobs = await this.squeue([]);
    const fingerprint = fingerprintJobs(jobs);
    if (since !== undefined && this.last && since >= this.last.asOf && this.last.fingerprint === fingerprint) return null;
    this.last = { asOf, fingerprint };
    return { asOf, jobs };
  }

  async getJob(jobId: number): Promise<SlurmJobRecord[]> {
    checkJobId(jobId);
    // squeue 22.05 ignores --jobs (and every other filter) with --json: filter here.
    const jobs = await this.squeue([]);
    return jobs.filter((j) => j.jobId === jobId || j.arrayJobId === jobId);
  }

  /** Not by id over SSH: each tick costs an squeue process whatever it prints, so listJobs (fingerprinted) follows. */
  async jobStates(): Promise<SlurmJobState[] | null> {
    return null;
  }

  async cancel(user: string, jobId: number): Promise<void> {
    checkJobId(jobId);
    const res = await this.exec(user, renderSlurmCommand(this.ssh.commandEnvironment, ['scancel', String(jobId)]));
    const text = slurmErrorText(res.stderr);
    const code = codeFromMessage(text);
    // scancel exits 0 for some of these and 1 for others; either way the job is not running.
    if (code === SLURM_ERR.INVALID_JOB_ID || code === SLURM_ERR.ALREADY_DONE || code === SLURM_ERR.JOB_FINISHED) return;
    if (res.code === 0 && !/error/i.test(res.stderr)) return;
    throw this.cliFailure(res, `cancel job ${jobId}`);
  }

  async setHold(user: string, jobId: number, hold: boolean): Promise<void> {
    checkJobId(jobId);
    const res = await this.exec(user, renderSlurmCommand(this.ssh.commandEnvironment, ['scontrol', hold ? 'hold' : 'release', String(jobId)]));
    if (res.code === 0) return;
    throw this.cliFailure(res, `${hold ? 'hold' : 'release'} job ${jobId}`);
  }

  /**
   * Every node record, as `readUser`: `sinfo --json` on 22.05 prints them (as slurmrestd v0.0.38
   * does); from 23.11 it prints per-partition summaries instead, and `scontrol --json show nodes`
   * (which 22.05 lacks) prints the records. The first answer tells which kind of island this is.
   */
  async listNodes(): Promise<SlurmNodeRecord[]> {
    if (this.nodeListing === 'sinfo') {
      const nodes = await this.nodeRecords(['sinfo', '--json']);
      if (nodes) return nodes;
      this.nodeListing = 'scontrol';
    }
    const nodes = await this.nodeRecords(['scontrol', '--json', 'show', 'nodes']);
    if (!nodes) throw new SlurmUnavailableError('scontrol --json show nodes printed no node records');
    return nodes;
  }

  /**
   * `sacct --json` as the read user: `-a` (every user's jobs), `-D` (every run of a requeued job:
   * without it sacct prints only the last), `-j` (no time window applies with job ids).
   */
  async runsOf(slurmJobIds: readonly number[]): Promise<AccountingRun[]> {
    if (slurmJobIds.length === 0) return [];
    slurmJobIds.forEach(checkJobId);
    const argv = ['sacct', '--json', '-a', '-D', '-j', slurmJobIds.join(',')];
    const res = await this.exec(this.readUser, renderSlurmCommand(this.ssh.commandEnvironment, argv));
    if (res.code !== 0) throw this.cliFailure(res, 'sacct');
    let parsed: { jobs?: SlurmDbJob[]; errors?: unknown };
    try {
      parsed = JSON.parse(res.stdout) as { jobs?: SlurmDbJob[]; errors?: unknown };
    } catch {
      throw new SlurmUnavailableError(`sacct --json printed no JSON: ${res.stdout.slice(0, 200)}${res.stderr.slice(0, 200)}`);
    }
    const errors = normalizeErrors(parsed.errors);
    if (errors.some((e) => e.code === SLURM_ERR.NOTHING_FOUND)) return [];
    if (errors.length > 0) throw new SlurmUnavailableError(`sacct --json: ${errors.map((e) => e.message).join('; ')}`);
    return (parsed.jobs ?? []).map(toAccountingRun);
  }

  /** The account as the login node's user database knows it (`getent passwd`, as the read user); null when there is none. */
  async lookupAccount(user: string): Promise<PosixAccount | null> {
    if (!isPosixUserName(user)) throw new InvalidSlurmUserError(`invalid POSIX user name ${JSON.stringify(user)}`);
    const res = await this.exec(this.readUser, shellJoin(['getent', 'passwd', user]));
    return accountFromGetent(user, res.code, res.stdout, `${this.ssh.host}:${this.ssh.port}`);
  }

  async ping(): Promise<SlurmPing> {
    const env = this.ssh.commandEnvironment;
    const command = `${renderSlurmCommand(env, ['scontrol', '--version'])}; ${renderSlurmCommand(env, ['scontrol', 'ping'])}`;
    let res: ExecResult;
    try {
      res = await this.exec(this.readUser, command);
    } catch (err) {
      if (err instanceof SlurmUnavailableError) return { up: false, hostname: '', version: '' };
      throw err;
    }
    return parseScontrolPing(res.stdout);
  }

  /**
   * 0: sbatch runs as a child of the SSH session, and a session that ends without an answer
   * leaves no bound on whether it got to slurmctld; the job is looked for by its tag instead.
   */
  /** Nothing: sbatch takes every option as a researcher's script gives it. */
  async unsendable(): Promise<readonly SubmitFeature[]> {
    return [];
  }

  submitSettleMs(): number {
    return 0;
  }

  loginNode(): SshSlurmClient {
    return this;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Runs `fn` with `user`'s files over one SFTP session as that user, bounded as a whole by the island's timeout. */
  async withFiles<T>(user: string, fn: (files: RemoteFiles) => Promise<T>): Promise<T> {
    assertActingUser(user, this.forbidden);
    return this.pool.withSftp(user, this.ssh.timeoutMs, (sftp) => fn(new RemoteFiles(sftp, `as ${user}`)));
  }

  /** Connections currently open per user (for tests and metrics). */
  connectionStats(): Record<string, { connections: number; active: number }> {
    return this.pool.stats();
  }

  private async exec(user: string, command: string, stdin?: string): Promise<ExecResult> {
    assertActingUser(user, this.forbidden);
    return this.pool.exec(user, command, { stdin, timeoutMs: this.ssh.timeoutMs });
  }

  private async nodeRecords(argv: string[]): Promise<SlurmNodeRecord[] | null> {
    const res = await this.exec(this.readUser, renderSlurmCommand(this.ssh.commandEnvironment, argv));
    if (res.code !== 0) throw this.cliFailure(res, argv[0]);
    return parseNodesJson(res.stdout, res.stderr);
  }

  /**
   * Every job slurmctld still knows. `--states=all`: 23.11+ applies squeue's default filter
   * (pending and running only) to --json too, where 22.05 printed finished jobs as well.
   */
  private async squeue(extra: string[]): Promise<SlurmJobRecord[]> {
    const res = await this.exec(this.readUser, renderSlurmCommand(this.ssh.commandEnvironment, ['squeue', '--json', '--states=all', ...extra]));
    if (res.code !== 0) throw this.cliFailure(res, 'squeue');
    let parsed: { jobs?: Array<V0038JobRecord | V0042JobRecord>; errors?: unknown };
    try {
      parsed = JSON.parse(res.stdout) as { jobs?: Array<V0038JobRecord | V0042JobRecord>; errors?: unknown };
    } catch {
      throw new SlurmUnavailableError(`squeue --json printed no JSON: ${res.stdout.slice(0, 200)}${res.stderr.slice(0, 200)}`);
    }
    const errors = normalizeErrors(parsed.errors);
    if (errors.some((e) => e.code === SLURM_ERR.INVALID_JOB_ID)) {
      throw new SlurmRejectedError('Invalid job id specified', SLURM_ERR.INVALID_JOB_ID);
    }
    return (parsed.jobs ?? []).map(toSlurmJobRecord);
  }

  private cliFailure(res: ExecResult, context: string): Error {
    const text = slurmErrorText(res.stderr) || `exit ${res.code ?? res.signal}`;
    if (res.code === null || res.code === 127 || res.code === 126 || res.code === 255 || CLI_UNAVAILABLE.test(res.stderr)) {
      return new SlurmUnavailableError(`${context} over ssh ${this.ssh.host}:${this.ssh.port}: ${text}`);
    }
    return new SlurmRejectedError(`${context}: ${text}`, codeFromMessage(text));
  }
}

/**
 * The node records of `sinfo --json` (22.05) or `scontrol --json show nodes` output; null for the
 * per-partition summaries 23.11+'s `sinfo --json` prints. SlurmUnavailableError when it is not JSON
 * or reports errors.
 */
export function parseNodesJson(stdout: string, stderr = ''): SlurmNodeRecord[] | null {
  let parsed: { nodes?: Array<V0038NodeRecord | V0042NodeRecord>; sinfo?: unknown; errors?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new SlurmUnavailableError(`node listing printed no JSON: ${stdout.slice(0, 200)}${stderr.slice(0, 200)}`);
  }
  const errors = normalizeErrors(parsed.errors);
  if (errors.length > 0) throw new SlurmUnavailableError(`node listing: ${errors.map((e) => e.message).join('; ')}`);
  if (parsed.nodes === undefined && parsed.sinfo !== undefined) return null;
  return (parsed.nodes ?? []).map(toSlurmNodeRecord);
}

/** Stable hash of what consumers see: the mapped records, ordered by id. */
export function fingerprintJobs(jobs: SlurmJobRecord[]): string {
  const sorted = [...jobs].sort((a, b) => a.jobId - b.jobId || (a.arrayTaskId ?? -1) - (b.arrayTaskId ?? -1));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url');
}

function checkJobId(jobId: number): void {
  if (!Number.isSafeInteger(jobId) || jobId <= 0) throw new RangeError(`invalid SLURM job id ${jobId}`);
}
