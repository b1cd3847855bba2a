import { Pool, errors as undiciErrors } from 'undici';
import type { IslandConnection, RestConnection } from '../island-connection';
import {
  SlurmRejectedError,
  SlurmUnavailableError,
  type SlurmJobRecord,
  type SlurmJobSnapshot,
  type SlurmJobState,
  type SlurmNodeRecord,
  type SlurmPing,
  type SlurmSubmitRequest,
  type SlurmSubmitResult,
  type SlurmTimestamp,
} from '../../../core/slurm/slurm-client.port';
import { toJobSubmission } from './job-properties';
import { toJobDescriptionSubmission } from './job-description';
import { isModern, REST_API_VERSIONS, updateTimeQuery, type RestApiVersion } from './rest-api-version';
import type { SubmitFeature } from '../../../core/sbatch/submit-features';
import { mintSlurmJwt, SlurmTokenCache } from './jwt';
import { assertActingUser } from '../../../core/slurm/posix-user';
import { describeItems, errorFromItems, neverReached, normalizeErrors, primaryCode, SLURM_ERR, type SlurmErrorItem } from '../slurm-errors';
import { toSlurmJobRecord, type V0038JobRecord, type V0042JobRecord } from '../slurm-job-record';
import { toSlurmNodeRecord, type V0038NodeRecord, type V0042NodeRecord } from '../slurm-node-record';
import { toAccountingRun, type SlurmDbJob } from '../slurmdb-job-record';
import type { AccountingRun } from '../../../core/usage/accounting';
import type { LoginNode, SlurmAdapter } from '../slurm-adapter';
import { jobStateName, setNumber } from '../slurm-values';

/** After a submission token's expiry: clock skew between us and slurmctld, and an RPC verified just in time. */
const SUBMIT_SETTLE_MARGIN_MS = 2000;

/** How long submissions use the REST URL's host after a ping that named no controller, before asking again. */
const CONTROLLER_LOOKUP_RETRY_MS = 30_000;

/** A submission's token lives as long as we wait for its answer (at least the 2 s a token may live). */
function submitTokenSeconds(rest: RestConnection): number {
  return Math.max(2, Math.ceil(rest.timeoutMs / 1000));
}

/** Ids per `jobs/state` request: keeps the URL short (slurmrestd's request line) whatever is followed. */
const STATE_IDS_PER_REQUEST = 500;

/** The fields of slurmrestd's answers read here; they have these names in every version spoken. */
interface SubmitBody {
  job_id?: number;
  job_submit_user_msg?: string;
}
interface JobsBody {
  jobs?: Array<V0038JobRecord | V0042JobRecord>;
  /** 23.11+: 0 in an answer to `update_time` means nothing changed since. */
  last_update?: unknown;
}
interface PingBody {
  pings?: Array<{ mode?: string; hostname?: string; ping?: string; pinged?: string }>;
  meta?: { Slurm?: { release?: string }; slurm?: { release?: string } };
}

interface RawResponse<B> {
  status: number;
  /** Parsed JSON, when the answer was JSON. */
  body: Partial<B> | undefined;
  text: string;
  errors: SlurmErrorItem[];
  /** 23.11+ puts an accepted job's remarks here (v0.0.38: in errors[]). */
  warnings: SlurmErrorItem[];
}

export interface RestSlurmClientOptions {
  /** Extra user names never to mint tokens for (root and slurm are always refused). */
  forbiddenUsers?: string[];
  /** Subtracted from `asOf`, for a controller whose clock runs behind ours. Default 0. */
  clockSlackSeconds?: number;
  clock?: () => number;
}

/**
 * SlurmClient over slurmrestd's OpenAPI: v0.0.38 (SLURM 22.05/23.02) or v0.0.40-v0.0.42 (23.11 to
 * 25.x), the one configured for the island or else the newest it serves (asked once, at the first
 * call). What differs between versions stays in here and in the record mappers. Each call carries
 * a short-lived HS256 token minted here for the acting user: submit/cancel/hold as the job's owner,
 * reads and ping as the island's `readUser`. Never a token for root or SlurmUser.
 */
export class RestSlurmClient implements SlurmAdapter {
  private readonly pool: Pool;
  private readonly rootPath: string;
  private version: Promise<RestApiVersion> | null = null;
  private readonly tokens: SlurmTokenCache;
  private readonly rest: RestConnection;
  private readonly readUser: string;
  private readonly forbidden: string[];
  private readonly clock: () => number;
  private readonly clockSlack: number;
  private closed = false;
  /** Whether this slurmrestd serves `jobs/state` (24.11's does at v0.0.40-42; one that answers 404 is not asked again). */
  private statesServed: boolean | undefined;
  /** The controller's host name, learnt from the first ping: where jobs count as submitted from. */
  private controllerHost: string | undefined;
  /** The ping that learns it, shared by every submission made meanwhile (a worker starts with a batch in flight). */
  private controllerLookup: Promise<unknown> | null = null;
  /** After a ping that named no controller, not asked again before this time (epoch ms). */
  private controllerLookupAfter = 0;

  constructor(island: Pick<IslandConnection, 'rest' | 'readUser'> & { name?: string }, options: RestSlurmClientOptions = {}) {
    if (!island.rest) throw new Error(`island ${island.name ?? ''}: no rest connection configured`);
    this.rest = island.rest;
    this.forbidden = options.forbiddenUsers ?? [];
    assertActingUser(island.readUser, this.forbidden);
    this.readUser = island.readUser;
    this.clock = options.clock ?? (() => Date.now());
    this.clockSlack = options.clockSlackSeconds ?? 0;
    const url = new URL(this.rest.url);
    this.rootPath = url.pathname.replace(/\/+$/, '');
    if (this.rest.apiVersion) this.version = Promise.resolve(this.rest.apiVersion);
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
    const version = await this.apiVersion();
    // The token is minted first: whatever happens before the request is sent (the one ping that
    // learns the submit host) uses up its life, so the submission still settles by `settlesAt`.
    const nowSeconds = Math.floor(this.clock() / 1000);
    const lifetime = submitTokenSeconds(this.rest);
    const token = mintSlurmJwt(this.rest.jwtKey, user, lifetime, nowSeconds);
    // slurmctld accepts a token through its `exp` second; then allow for clock skew and the RPC in progress.
    const settlesAt = (nowSeconds + lifetime + 1) * 1000 + SUBMIT_SETTLE_MARGIN_MS;
    const submitHost = await this.submitHost();
    const body = isModern(version) ? toJobDescriptionSubmission(request, nowSeconds, submitHost) : toJobSubmission(request, submitHost);
    let res: RawResponse<SubmitBody>;
    try {
      res = await this.call<SubmitBody>('POST', this.slurm(version, '/job/submit'), user, body, { token });
    } catch (error) {
      if (!(error instanceof SlurmUnavailableError) || neverReached(error)) throw error;
      throw new SlurmUnavailableError(error.message, { cause: error.cause, settlesAt });
    }
    const jobId = res.body?.job_id;
    if ((res.status === 200 || res.status === 500) && typeof jobId === 'number' && jobId > 0) {
      // Accepted; errors[] here are warnings (2042 held, 2015 partition limits...).
      const warnings = [...new Set([...res.errors, ...res.warnings].map((e) => describeItems([e])))];
      const userMsg = res.body?.job_submit_user_msg;
      if (typeof userMsg === 'string' && userMsg.trim() !== '') warnings.push(userMsg.trim());
      return { jobId, warnings };
    }
    throw this.failure(res, 'submit');
  }

  /**
   * The longest a submission can still create a job after the call started: its token's life, the
   * second slurmctld still accepts it in, and the margin. A dispatcher that holds a job for at least
   * this long after calling can never see a submission of it land after letting go.
   */
  submitSettleMs(): number {
    return (submitTokenSeconds(this.rest) + 1) * 1000 + SUBMIT_SETTLE_MARGIN_MS;
  }

  loginNode(): LoginNode | null {
    return null;
  }

  /**
   * With `since`, slurmctld answers with nothing when no job changed since then (v0.0.38: HTTP 304;
   * 23.11+: 200 with no jobs and `last_update` 0), else with every job: a quiet queue costs one
   * small answer per tick, whatever its size.
   */
  async listJobs(since?: SlurmTimestamp): Promise<SlurmJobSnapshot | null> {
    const version = await this.apiVersion();
    const nowSeconds = Math.floor(this.clock() / 1000);
    const asOf = nowSeconds - this.clockSlack;
    const query = since !== undefined ? updateTimeQuery(version, since, nowSeconds) : '';
    const res = await this.call<JobsBody>('GET', this.slurm(version, `/jobs/${query}`), this.readUser);
    if (res.status === 304) return null;
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, 'list jobs');
    const jobs = res.body?.jobs ?? [];
    if (since !== undefined && isModern(version) && jobs.length === 0 && setNumber(res.body?.last_update) === 0) return null;
    return { asOf, jobs: jobs.map(toSlurmJobRecord) };
  }

  async getJob(jobId: number): Promise<SlurmJobRecord[]> {
    checkJobId(jobId);
    const version = await this.apiVersion();
    const res = await this.call<JobsBody>('GET', this.slurm(version, `/job/${jobId}`), this.readUser);
    if (res.errors.some((e) => e.code === SLURM_ERR.INVALID_JOB_ID)) return [];
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, `get job ${jobId}`);
    return (res.body?.jobs ?? []).map(toSlurmJobRecord);
  }

  /**
   * `GET /jobs/state/?job_id=a&job_id=b…` (the parameter repeated; slurmrestd refuses `%2C`): each
   * job's state only, array tasks one by one as `<id>_<task>`. Measured (benchmarks/follow, 100,000
   * finished jobs in slurmctld) at 3-8 ms of slurmctld + slurmrestd CPU for 10-1,000 ids, where one
   * full listing costs seconds.
   */
  async jobStates(jobIds: readonly number[]): Promise<SlurmJobState[] | null> {
    jobIds.forEach(checkJobId);
    const version = await this.apiVersion();
    if (!isModern(version) || this.statesServed === false) return null;
    const states: SlurmJobState[] = [];
    for (let i = 0; i < jobIds.length; i += STATE_IDS_PER_REQUEST) {
      const query = jobIds
        .slice(i, i + STATE_IDS_PER_REQUEST)
        .map((id) => `job_id=${id}`)
        .join('&');
      const res = await this.call<{ jobs?: Array<{ job_id?: unknown; state?: unknown }> }>(
        'GET',
        this.slurm(version, `/jobs/state/?${query}`),
        this.readUser,
        undefined,
        {
          absentIs404: true,
        },
      );
      if (res.status === 404) {
        this.statesServed = false;
        return null;
      }
      this.statesServed = true;
      if (res.errors.some((e) => e.code === SLURM_ERR.INVALID_JOB_ID)) continue; // none of them known any more
      if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, 'job states');
      for (const entry of res.body?.jobs ?? []) states.push(toSlurmJobState(entry));
    }
    return states;
  }

  /**
   * v0.0.42 reports a cancel's outcome in `status[]` of an HTTP 200 (errors[] stays empty);
   * v0.0.40/41 report nothing, not even for an unknown id: the follower sees what really happened.
   */
  async cancel(user: string, jobId: number): Promise<void> {
    checkJobId(jobId);
    const version = await this.apiVersion();
    const res = await this.call<{ status?: Array<{ error?: { code?: number; message?: string } }> }>('DELETE', this.slurm(version, `/job/${jobId}`), user);
    const outcomes = (res.body?.status ?? []).flatMap((s) => (s.error ? [{ error_code: s.error.code, error: s.error.message }] : []));
    const errors = [...res.errors, ...normalizeErrors(outcomes)];
    const remaining = errors.filter(
      (e) => e.code !== SLURM_ERR.INVALID_JOB_ID && e.code !== SLURM_ERR.ALREADY_DONE && e.code !== SLURM_ERR.JOB_FINISHED && e.code !== 0,
    );
    if (errors.length > 0 && remaining.length === 0) return; // unknown or finished: nothing to do
    if (res.status !== 200 || remaining.length > 0) throw this.failure({ ...res, errors: remaining }, `cancel job ${jobId}`);
  }

  async setHold(user: string, jobId: number, hold: boolean): Promise<void> {
    checkJobId(jobId);
    const version = await this.apiVersion();
    const res = await this.call<unknown>('POST', this.slurm(version, `/job/${jobId}`), user, { hold });
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, `${hold ? 'hold' : 'release'} job ${jobId}`);
  }

  async listNodes(): Promise<SlurmNodeRecord[]> {
    const version = await this.apiVersion();
    const res = await this.call<{ nodes?: Array<V0038NodeRecord | V0042NodeRecord> }>('GET', this.slurm(version, '/nodes/'), this.readUser);
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, 'list nodes');
    return (res.body?.nodes ?? []).map(toSlurmNodeRecord);
  }

  /**
   * Accounting records of jobs (every run and array task), as the read user, from slurmdbd:
   * `GET /slurmdb/<version>/jobs/?step=<id>,<id>...` (the job-id filter sacct -j uses). The commas
   * must be sent as %2C: a literal comma makes slurmrestd answer 400 "Unable to parse query".
   */
  async runsOf(slurmJobIds: readonly number[]): Promise<AccountingRun[]> {
    if (slurmJobIds.length === 0) return [];
    slurmJobIds.forEach(checkJobId);
    const version = await this.apiVersion();
    const path = `/slurmdb/${version}/jobs${isModern(version) ? '/' : ''}?step=${slurmJobIds.join('%2C')}`;
    const res = await this.call<{ jobs?: SlurmDbJob[] }>('GET', this.rootPath + path, this.readUser);
    if (res.errors.some((e) => e.code === SLURM_ERR.NOTHING_FOUND)) return [];
    if (res.status !== 200 || res.errors.length > 0) throw this.failure(res, `accounting of jobs ${slurmJobIds.join(',')}`);
    return (res.body?.jobs ?? []).map(toAccountingRun);
  }

  async ping(): Promise<SlurmPing> {
    let res: RawResponse<PingBody>;
    try {
      res = await this.call<PingBody>('GET', this.slurm(await this.apiVersion(), '/ping/'), this.readUser);
    } catch (err) {
      if (err instanceof SlurmUnavailableError) return { up: false, hostname: '', version: '' };
      throw err;
    }
    const pings = res.body?.pings ?? [];
    const primary = pings.find((p) => p.mode === 'primary') ?? pings[0];
    const meta = res.body?.meta;
    if (primary?.hostname) this.controllerHost = primary.hostname;
    return {
      up: res.status === 200 && (primary?.ping ?? primary?.pinged) === 'UP',
      hostname: primary?.hostname ?? '',
      version: meta?.slurm?.release ?? meta?.Slurm?.release ?? '',
    };
  }

  /**
   * SLURM_SUBMIT_HOST for jobs sent through slurmrestd: the controller's host, as slurmctld names
   * itself (a native sbatch on the island prints its own host, usually the same login/controller
   * host). Until a ping has answered, the host of the REST URL.
   */
  private async submitHost(): Promise<string> {
    if (this.controllerHost === undefined && this.clock() >= this.controllerLookupAfter) {
      this.controllerLookup ??= this.ping().finally(() => {
        this.controllerLookup = null;
        if (this.controllerHost === undefined) this.controllerLookupAfter = this.clock() + CONTROLLER_LOOKUP_RETRY_MS;
      });
      await this.controllerLookup;
    }
    return this.controllerHost ?? new URL(this.rest.url).hostname;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tokens.clear();
    await this.pool.close();
  }

  /** slurmrestd 22.05 cannot parse `B:` signals or --mem-per-gpu; 23.11+ has no field for signal flags and takes --begin only as now+N. */
  async unsendable(): Promise<readonly SubmitFeature[]> {
    return isModern(await this.apiVersion()) ? ['signal-flags', 'begin-clock-time'] : ['batch-signal', 'mem-per-gpu'];
  }

  /** The API this client speaks to the island: configured, or found by `negotiate` once. */
  apiVersion(): Promise<RestApiVersion> {
    this.version ??= this.negotiate().catch((error) => {
      this.version = null; // ask again at the next call
      throw error;
    });
    return this.version;
  }

  /** The newest version whose ping slurmrestd answers (a version it does not serve answers 404). */
  private async negotiate(): Promise<RestApiVersion> {
    for (const version of REST_API_VERSIONS) {
      const res = await this.call<PingBody>('GET', this.slurm(version, '/ping/'), this.readUser, undefined, { absentIs404: true });
      if (res.status !== 404) return version;
    }
    throw new SlurmUnavailableError(`slurmrestd ${this.rest.url} serves none of ${REST_API_VERSIONS.join(', ')} (SLURM 22.05 or later is needed)`);
  }

  private slurm(version: RestApiVersion, path: string): string {
    return `${this.rootPath}/slurm/${version}${path}`;
  }

  /** Sends one request as `user`; resolves for any HTTP answer, rejects with SlurmUnavailableError when there is none. */
  private async call<B>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    user: string,
    body?: unknown,
    options: { token?: string; absentIs404?: boolean } = {},
  ): Promise<RawResponse<B>> {
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
        path,
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
    if (status === 404 && options.absentIs404) return { status, body: undefined, text, errors: [], warnings: [] };
    // 511: slurmrestd 23.11+ for a token slurmctld refuses (22.05: 401).
    if (status === 401 || status === 403 || status === 511) {
      throw new SlurmUnavailableError(`slurmrestd ${this.rest.url}: ${what}: authentication failed (HTTP ${status}): ${text.trim().slice(0, 200)}`);
    }
    if (status === 406 || status === 502 || status === 503 || status === 504) {
      throw new SlurmUnavailableError(`slurmrestd ${this.rest.url}: ${what}: HTTP ${status}`);
    }
    let parsed: Partial<B> | undefined;
    let json = true;
    try {
      parsed = text.trim() !== '' ? (JSON.parse(text) as Partial<B>) : undefined;
    } catch {
      json = false;
    }
    const errors = normalizeErrors((parsed as { errors?: unknown } | undefined)?.errors ?? (Array.isArray(parsed) ? parsed : undefined));
    // 23.11+ answers 404 with SLURM's error for an unknown job; a 404 without one is a path this slurmrestd
    // does not serve (SLURM upgraded under us: a version found by asking is asked for again at the next call).
    if (status === 404 && errors.length === 0) {
      if (!this.rest.apiVersion) this.version = null;
      throw new SlurmUnavailableError(`slurmrestd ${this.rest.url}: ${what}: HTTP 404`);
    }
    if (!json) {
      if (status === 400) throw new SlurmRejectedError(`slurmrestd: ${what}: ${text.trim().slice(0, 300)}`, undefined, status);
      throw new SlurmUnavailableError(`slurmrestd ${this.rest.url}: ${what}: HTTP ${status} with a non-JSON body`);
    }
    const warnings = normalizeErrors((parsed as { warnings?: unknown } | undefined)?.warnings);
    return { status, body: parsed, text, errors, warnings };
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

/** `{"job_id": "12" | "12_3", "state": ["PENDING"]}` → the port's entry. */
function toSlurmJobState(entry: { job_id?: unknown; state?: unknown }): SlurmJobState {
  const match = typeof entry.job_id === 'string' ? /^(\d+)(?:_(\d+))?$/.exec(entry.job_id) : null;
  if (!match) throw new SlurmUnavailableError(`job states: unexpected job id ${JSON.stringify(entry.job_id)}`);
  const state: SlurmJobState = { jobId: Number(match[1]), state: jobStateName(entry.state) };
  if (match[2] !== undefined) state.arrayTaskId = Number(match[2]);
  return state;
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
