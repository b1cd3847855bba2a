import { Pool, errors as undiciErrors } from 'undici';
import type { IslandConnection, RestConnection } from '../island-connection';
import {
  SlurmRejectedError,
  SlurmUnavailableError,
  type SlurmClient,
  type SlurmJobRecord,
  type SlurmJobSnapshot,
  type SlurmNodeRecord,
  type SlurmPing,
  type SlurmSubmitRequest,
  type SlurmSubmitResult,
  type SlurmTimestamp,
} from '../../../core/slurm/slurm-client.port';
import type { paths } from './generated/slurm-v0.0.38';
import { toJobSubmission, type RestJobProperties } from './job-properties';
import { mintSlurmJwt, SlurmTokenCache } from './jwt';
import { assertActingUser } from '../../../core/slurm/posix-user';
import { describeItems, errorFromItems, neverReached, normalizeErrors, primaryCode, SLURM_ERR, type SlurmErrorItem } from '../slurm-errors';
import { toSlurmJobRecord } from '../slurm-job-record';
import { toSlurmNodeRecord } from '../slurm-node-record';
import { toAccountingRun, type V0038DbJob } from '../slurmdb-job-record';
import type { AccountingRun, AccountingSource } from '../../../core/usage/accounting';

/** Base path of the v0.0.38 plugin; the spec's paths are relative to it. */
export const SLURM_V0038_BASE = '/slurm/v0.0.38';
/** Base path of the accounting plugin (openapi/dbv0.0.38: islands with slurmdbd only). */
export const SLURMDB_V0038_BASE = '/slurmdb/v0.0.38';

/** After a submission token's expiry: clock skew between us and slurmctld, and an RPC verified just in time. */
const SUBMIT_SETTLE_MARGIN_MS = 2000;

/** A submission's token lives as long as we wait for its answer (at least the 2 s a token may live). */
function submitTokenSeconds(rest: RestConnection): number {
  return Math.max(2, Math.ceil(rest.timeoutMs / 1000));
}

/**
 * The longest a submission can still create a job after the call started: its token's life, the
 * second slurmctld still accepts it in, and the margin. A dispatcher that holds a job for at least
 * this long after calling can never see a submission of it land after letting go.
 */
export function submitSettleMs(rest: RestConnection): number {
  return (submitTokenSeconds(rest) + 1) * 1000 + SUBMIT_SETTLE_MARGIN_MS;
}

type Method = 'get' | 'post' | 'delete';
/** The JSON body of a 200 answer to `method path`, per the generated spec. */
type OkBody<P extends keyof paths, M extends Method> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer B } } };
}
  ? B
  : never;

interface RawResponse<B> {
  status: number;
  /** Parsed JSON, when the answer was JSON. */
  body: Partial<B> | undefined;
  text: string;
  errors: SlurmErrorItem[];
}

export interface RestSlurmClientOptions {
  /** Extra user names never to mint tokens for (root and slurm are always refused). */
  forbiddenUsers?: string[];
  /** Subtracted from `asOf`, for a controller whose clock runs behind ours. Default 0. */
  clockSlackSeconds?: number;
  clock?: () => number;
}

/**
 * SlurmClient over slurmrestd's OpenAPI v0.0.38 (Slurm 22.05). Each call carries a short-lived
 * HS256 token minted here for the acting user: submit/cancel/hold as the job's owner, reads and
 * ping as the island's `readUser`. Never a token for root or SlurmUser.
 */
export class RestSlurmClient implements SlurmClient, AccountingSource {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly dbBasePath: string;
  private readonly tokens: SlurmTokenCache;
  private readonly rest: RestConnection;
  private readonly readUser: string;
  private readonly forbidden: string[];
  private readonly clock: () => number;
  private readonly clockSlack: number;
  private closed = false;
  /** The controller's host name, learnt from the first ping: where jobs count as submitted from. */
  private controllerHost: string | undefined;

  constructor(island: Pick<IslandConnection, 'rest' | 'readUser'> & { name?: string }, options: RestSlurmClientOptions = {}) {
    if (!island.rest) throw new Error(`island ${island.name ?? ''}: no rest connection configured`);
    this.rest = island.rest;
    this.forbidden = options.forbiddenUsers ?? [];
    assertActingUser(island.readUser, this.forbidden);
    this.readUser = island.readUser;
    this.clock = options.clock ?? (() => Date.now());
    this.clockSlack = options.clockSlackSeconds ?? 0;
    const url = new URL(this.rest.url);
    this.basePath = url.pathname.replace(/\/+$/, '') + SLURM_V0038_BASE;
    this.dbBasePath = url.pathname.replace(/\/+$/, '') + SLURMDB_V0038_BASE;
    const connections = Math.max(1, Math.floor(this.rest.connections));
    this.pool = new Pool(url.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      connectTimeout: this.rest.timeoutMs,
      headersTimeout: this.rest.timeoutMs,
      bodyTimeout: this.rest.timeoutMs,
    });
    this.tokens = new SlurmTokenCache(this.rest.jwtKey, this.rest.tokenLifetimeSeconds, this.clock);
  }

  /**
   * A submission carries a token of its own that expires when we stop waiting for the answer.
   * slurmctld refuses an expired token, so a submission that is still queued in slurmrestd, or
   * retrying to reach a stopped slurmctld, cannot create a job after we gave up on it: once its
   * `settlesAt` has passed, a listing shows the job if and only if it was created.
   */
  async submit(user: string, request: SlurmSubmitRequest): Promise<SlurmSubmitResult> {
    assertActingUser(user, this.forbidden);
    // The token is minted first: whatever happens before the request is sent (the one ping that
    // learns the submit host) uses up its life, so the submission still settles by `settlesAt`.
    const nowSeconds = Math.floor(this.clock() / 1000);
    const lifetime = submitTokenSeconds(this.rest);
    const token = mintSlurmJwt(this.rest.jwtKey, user, lifetime, nowSeconds);
    // slurmctld accepts a token through its `exp` second; then allow for clock skew and the RPC in progress.
    const settlesAt = (nowSeconds + lifetime + 1) * 1000 + SUBMIT_SETTLE_MARGIN_MS;
    const body = toJobSubmission(request, await this.submitHost());
    let res: RawResponse<OkBody<'/job/submit', 'post'>>;
    try {
      res = await this.call<OkBody<'/job/submit', 'post'>>('POST', '/job/submit', user, body, { token });
    } catch (error) {
      if (!(error instanceof SlurmUnavailableError) || neverReached(error)) throw error;
      throw new SlurmUnavailableError(error.message, { cause: error.cause, settlesAt });
    }
    const jobId = res.body?.job_id;
    if ((res.status === 200 || res.status === 500) && typeof jobId === 'number' && jobId > 0) {
      // Accepted; errors[] here are warnings (2042 held, 2015 partition limits...).
      const warnings = res.errors.map((e) => describeItems([e]));
      const userMsg = res.body?.job_submit_user_msg;
      if (typeof userMsg === 'string' && userMsg.trim() !== '') warnings.push(userMsg.trim());
      return { jobId, warnings };
    }
    throw this.failure(res, 'submit');
  }

  async listJobs(since?: SlurmTimestamp): Promise<SlurmJobSnapshot | null> {
    const asOf = Math.floor(this.clock() / 1000) - this.clockSlack;
    const query = since !== undefined ? `?update_time=${Math.floor(since)}` : '';
    const res = await this.call<OkBody<'/jobs/', 'get'>>('GET', `/jobs/${query}`, this.readUser);
    if (res.status === 304) return null;
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, 'list jobs');
    return { asOf, jobs: (res.body?.jobs ?? []).map(toSlurmJobRecord) };
  }

  async getJob(jobId: number): Promise<SlurmJobRecord[]> {
    checkJobId(jobId);
    const res = await this.call<OkBody<'/job/{job_id}', 'get'>>('GET', `/job/${jobId}`, this.readUser);
    if (res.errors.some((e) => e.code === SLURM_ERR.INVALID_JOB_ID)) return [];
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, `get job ${jobId}`);
    return (res.body?.jobs ?? []).map(toSlurmJobRecord);
  }

  async cancel(user: string, jobId: number): Promise<void> {
    checkJobId(jobId);
    const res = await this.call<OkBody<'/job/{job_id}', 'delete'>>('DELETE', `/job/${jobId}`, user);
    const remaining = res.errors.filter(
      (e) => e.code !== SLURM_ERR.INVALID_JOB_ID && e.code !== SLURM_ERR.ALREADY_DONE && e.code !== SLURM_ERR.JOB_FINISHED,
    );
    if (res.errors.length > 0 && remaining.length === 0) return; // unknown or finished: nothing to do
    if (res.status !== 200 || remaining.length > 0) throw this.failure({ ...res, errors: remaining }, `cancel job ${jobId}`);
  }

  async setHold(user: string, jobId: number, hold: boolean): Promise<void> {
    checkJobId(jobId);
    const body: Partial<RestJobProperties> = { hold };
    const res = await this.call<OkBody<'/job/{job_id}', 'post'>>('POST', `/job/${jobId}`, user, body);
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, `${hold ? 'hold' : 'release'} job ${jobId}`);
  }

  async listNodes(): Promise<SlurmNodeRecord[]> {
    const res = await this.call<OkBody<'/nodes/', 'get'>>('GET', '/nodes/', this.readUser);
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, 'list nodes');
    return (res.body?.nodes ?? []).map(toSlurmNodeRecord);
  }

  /**
   * Accounting records of jobs (every run and array task), as the read user, from slurmdbd:
   * `GET /slurmdb/v0.0.38/jobs?step=<id>,<id>...` (the job-id filter sacct -j uses). The commas
   * must be sent as %2C: a literal comma makes slurmrestd answer 400 "Unable to parse query".
   */
  async runsOf(slurmJobIds: readonly number[]): Promise<AccountingRun[]> {
    if (slurmJobIds.length === 0) return [];
    slurmJobIds.forEach(checkJobId);
    const res = await this.call<{ jobs?: V0038DbJob[] }>(
      'GET', `/jobs?step=${slurmJobIds.join('%2C')}`, this.readUser, undefined, { base: this.dbBasePath },
    );
    if (res.errors.some((e) => e.code === SLURM_ERR.NOTHING_FOUND)) return [];
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, `accounting of jobs ${slurmJobIds.join(',')}`);
    return (res.body?.jobs ?? []).map(toAccountingRun);
  }

  async ping(): Promise<SlurmPing> {
    let res: RawResponse<OkBody<'/ping/', 'get'>>;
    try {
      res = await this.call<OkBody<'/ping/', 'get'>>('GET', '/ping/', this.readUser);
    } catch (err) {
      if (err instanceof SlurmUnavailableError) return { up: false, hostname: '', version: '' };
      throw err;
    }
    const pings = res.body?.pings ?? [];
    const primary = pings.find((p) => p.mode === 'primary') ?? pings[0];
    const meta = res.body?.meta as { Slurm?: { release?: string } } | undefined;
    if (primary?.hostname) this.controllerHost = primary.hostname;
    return {
      up: res.status === 200 && primary?.ping === 'UP',
      hostname: primary?.hostname ?? '',
      version: meta?.Slurm?.release ?? '',
    };
  }

  /**
   * SLURM_SUBMIT_HOST for jobs sent through slurmrestd: the controller's host, as slurmctld names
   * itself (a native sbatch on the island prints its own host, usually the same login/controller
   * host). Until a ping has answered, the host of the REST URL.
   */
  private async submitHost(): Promise<string> {
    if (this.controllerHost === undefined) await this.ping();
    return this.controllerHost ?? new URL(this.rest.url).hostname;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tokens.clear();
    await this.pool.close();
  }

  /** Sends one request as `user`; resolves for any HTTP answer, rejects with SlurmUnavailableError when there is none. */
  private async call<B>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    user: string,
    body?: unknown,
    options: { token?: string; base?: string } = {},
  ): Promise<RawResponse<B>> {
    const base = options.base ?? this.basePath;
    const token = options.token;
    if (this.closed) throw new SlurmUnavailableError('slurmrestd client is closed');
    assertActingUser(user, this.forbidden);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-slurm-user-name': user,
      'x-slurm-user-token': token ?? this.tokens.tokenFor(user),
    };
    let payload: Buffer | undefined;
    if (body !== undefined) {
      // A Buffer body makes undici send Content-Length; slurmrestd 22.05 breaks on chunked bodies.
      payload = Buffer.from(JSON.stringify(body), 'utf8');
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const what = `${method} ${path} as ${user}`;
    let status: number;
    let text: string;
    try {
      const res = await this.pool.request({
        origin: undefined,
        path: base + path,
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(this.rest.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new SlurmUnavailableError(`slurmrestd ${this.rest.url}: ${what} failed: ${describe(err)}`, { cause: err });
    }
    if (status === 401 || status === 403) {
      throw new SlurmUnavailableError(`slurmrestd ${this.rest.url}: ${what}: authentication failed (HTTP ${status}): ${text.trim().slice(0, 200)}`);
    }
    if (status === 404 || status === 406 || status === 502 || status === 503 || status === 504) {
      throw new SlurmUnavailableError(`slurmrestd ${this.rest.url}: ${what}: HTTP ${status}`);
    }
    let parsed: Partial<B> | undefined;
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text) as Partial<B>;
      } catch {
        if (status === 400) throw new SlurmRejectedError(`slurmrestd: ${what}: ${text.trim().slice(0, 300)}`, undefined, status);
        throw new SlurmUnavailableError(`slurmrestd ${this.rest.url}: ${what}: HTTP ${status} with a non-JSON body`);
      }
    }
    const errors = normalizeErrors((parsed as { errors?: unknown } | undefined)?.errors ?? (Array.isArray(parsed) ? parsed : undefined));
    return { status, body: parsed, text, errors };
  }

  private failure(res: RawResponse<unknown>, context: string): Error {
    if (res.status === 400) {
      return new SlurmRejectedError(`${context}: ${describeItems(res.errors) || 'bad request'}`, primaryCode(res.errors), 400);
    }
    if (res.errors.length === 0) {
      return new SlurmUnavailableError(`${context}: unexpected HTTP ${res.status} from slurmrestd without errors`);
    }
    return errorFromItems(res.errors, res.status, context);
  }
}

function checkJobId(jobId: number): void {
  if (!Number.isSafeInteger(jobId) || jobId <= 0) throw new RangeError(`invalid SLURM job id ${jobId}`);
}

function describe(err: unknown): string {
  if (err instanceof undiciErrors.UndiciError) return `${err.name}: ${err.message}`;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${err.name}${code ? ` ${code}` : ''}: ${err.message}`;
  }
  return String(err);
}
