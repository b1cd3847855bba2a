import { fromBech32 } from '@cosmjs/encoding';
import { MsgSend, MsgSendResponse } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { ACCOUNT_STATUSES } from '../../../src/core/identity/tiers';
import { Any } from 'cosmjs-types/google/protobuf/any';
import type { DeepPartial, MessageCodec } from '../../../src/adapters/chain/proto-codec';
import {
  AuthorizationSession,
  FactorCombination,
  FactorType,
  HPCJob,
  JobState,
  NodeState,
  MsgReportJobStatus,
  MsgReportJobStatusResponse,
  QueryAuthorizationSessionRequest,
  QueryAuthorizationSessionResponse,
  QueryMFARequiredRequest,
  QueryMFARequiredResponse,
  QueryTrustedDeviceRequest,
  QueryTrustedDeviceResponse,
  SensitiveTransactionType,
  TrustedDevice,
  AccountStatus,
} from '../../../src/adapters/chain/generated/virtengine';
import { CODE, HpcRefusal, MsgHandler, Refusal } from './ledger';
import { validateBasic } from './validate-basic';
import { FakeCluster, FakeNode, FakeOffering, hpcProviderHandlers, updateClusterCapacity } from './hpc-provider';
import { hpcCustomerHandlers } from './hpc-customer';
import { hpcStoreQueries, JobTimes } from './hpc-store';

export type QueryHandler = (request: Uint8Array) => Uint8Array;

/**
 * A method of a registered query service that the keeper does not implement: its
 * Unimplemented*Server stub answers gRPC Unimplemented, which baseapp turns into ErrUnknownRequest.
 */
const unimplemented =
  (method: string): QueryHandler =>
  () => {
    throw new Refusal(CODE.UNKNOWN_REQUEST, `rpc error: code = Unimplemented desc = method ${method} not implemented: unknown request`);
  };

const VEID_STORE = '/store/veid/key';
const HPC_STORE_KEY = '/store/hpc/key';
const HPC_STORE_SUBSPACE = '/store/hpc/subspace';
/** x/veid/types/keys.go PrefixScore. */
const PREFIX_SCORE = 0x08;

/**
 * How baseapp answers a query whose handler returned a module's registered error (not a gRPC
 * status with a code): gRPCErrorToSDKError maps it to ErrUnknownRequest, keeping the text.
 */
const moduleError = (text: string) => new Refusal(CODE.UNKNOWN_REQUEST, `${text}: unknown request`);

/** x/hpc's registered errors (types/errors.go) that MsgReportJobStatus can fail with. */
export const HPC_REPORT_CODE = { JOB_NOT_FOUND: 2106, INVALID_JOB_STATE: 2107, UNAUTHORIZED: 2118 } as const;

function query<Req, Res>(request: MessageCodec<Req>, response: MessageCodec<Res>, answer: (req: Req) => DeepPartial<Res>): QueryHandler {
  return (bytes) => response.encode(response.fromPartial(answer(request.decode(bytes)))).finish();
}

const { FACTOR_TYPE_VEID: VEID, FACTOR_TYPE_FIDO2: FIDO2, FACTOR_TYPE_TOTP: TOTP } = FactorType;
const combos = (...sets: FactorType[][]): FactorCombination[] => sets.map((factors) => ({ factors, minSecurityLevel: 0 }));

/** x/mfa's default sensitive-transaction configs for the types Archipelago asks about. */
const DEFAULT_REQUIREMENTS: Partial<Record<SensitiveTransactionType, { factorCombinations: FactorCombination[]; minVeidScore: number }>> = {
  [SensitiveTransactionType.SENSITIVE_TX_PROVIDER_REGISTRATION]: { factorCombinations: combos([VEID, FIDO2]), minVeidScore: 70 },
  [SensitiveTransactionType.SENSITIVE_TX_HIGH_VALUE_ORDER]: { factorCombinations: combos([VEID, FIDO2]), minVeidScore: 70 },
  [SensitiveTransactionType.SENSITIVE_TX_ROLE_ASSIGNMENT]: { factorCombinations: combos([VEID, FIDO2]), minVeidScore: 85 },
  [SensitiveTransactionType.SENSITIVE_TX_API_KEY_GENERATION]: { factorCombinations: combos([FIDO2], [TOTP]), minVeidScore: 50 },
};

const TERMINAL: JobState[] = [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED, JobState.JOB_STATE_TIMEOUT];
/** x/hpc params node_heartbeat_timeout; types/node_agent.go DefaultOfflineThreshold, DefaultDeregistrationDelay. */
const NODE_HEARTBEAT_TIMEOUT_SECONDS = 120;
const NODE_OFFLINE_SECONDS = 300;
const NODE_DEREGISTRATION_SECONDS = 3600;
/** x/hpc DefaultParams max_job_duration_seconds. */
const MAX_JOB_DURATION_SECONDS = 604_800;

const LEGAL_JOB_TRANSITIONS: Record<number, JobState[]> = {
  [JobState.JOB_STATE_PENDING]: [JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED],
  [JobState.JOB_STATE_QUEUED]: [JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED, JobState.JOB_STATE_TIMEOUT],
  [JobState.JOB_STATE_RUNNING]: [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED, JobState.JOB_STATE_TIMEOUT],
};

/**
 * State and handlers of the custom modules, as we understand them from the chain's published
 * behaviour: x/veid scores, x/mfa sessions / requirements / trusted devices, x/hpc jobs with the
 * keeper's legal status transitions. Tests change this state through FakeChain's knobs.
 */
export class Modules {
  readonly scores = new Map<string, { score: number; status: AccountStatus; modelVersion: string; lastUpdatedAt: number }>();
  readonly sessions = new Map<string, AuthorizationSession>();
  /** Per address and type; falls back to DEFAULT_REQUIREMENTS. */
  readonly requirements = new Map<string, { required: boolean; factorCombinations: FactorCombination[]; minVeidScore: number }>();
  readonly devices = new Map<string, TrustedDevice>();
  readonly jobs = new Map<string, HPCJob>();
  /** The keeper's created_at / queued_at / started_at / completed_at of each job (not in our HPCJob subset). */
  readonly jobTimes = new Map<string, JobTimes>();
  /** x/bank balances in the fee denom, so contract tests can send a harmless MsgSend. */
  readonly balances = new Map<string, bigint>();
  /** x/hpc provider state: clusters (HPC-n), offerings (OFF-n), node metadata. */
  readonly clusters = new Map<string, FakeCluster>();
  readonly offerings = new Map<string, FakeOffering>();
  readonly nodes = new Map<string, FakeNode>();
  readonly counters = { cluster: 0, offering: 0, job: 0 };

  /**
   * x/hpc reward records by id, as keeper.SetHPCReward stores them (JSON). The keeper writes one
   * when a job's terminal report lands only if the job has an accounting record, which nothing
   * creates at 4954b9cc: so none appear by themselves; tests add them.
   */
  readonly rewards = new Map<string, Record<string, unknown>>();
  private readonly hpcStore = hpcStoreQueries(this.jobs, this.jobTimes, this.rewards);

  constructor(private readonly blockTime: () => Date) {}

  /** Stamps a keeper transition time on a job (UpdateJobStatus, CancelJob, ProcessExpiredJobs, SubmitJob). */
  stampJob(jobId: string, times: JobTimes): void {
    this.jobTimes.set(jobId, { ...this.jobTimes.get(jobId), ...times });
  }

  /** A copy of everything messages change, so a failed transaction leaves no trace (the SDK's cache store). */
  snapshot(): () => void {
    const maps = [this.jobs, this.jobTimes, this.balances, this.clusters, this.offerings, this.nodes] as Array<Map<string, unknown>>;
    const copies = maps.map((m) => new Map(m));
    const counters = { ...this.counters };
    return () => {
      maps.forEach((m, i) => {
        m.clear();
        for (const [k, v] of copies[i]) m.set(k, v);
      });
      Object.assign(this.counters, counters);
    };
  }

  queryHandlers(): Map<string, QueryHandler> {
    return new Map<string, QueryHandler>([
      ['/virtengine.veid.v1.Query/IdentityScore', unimplemented('IdentityScore')],
      ['/virtengine.veid.v1.Query/IdentityStatus', unimplemented('IdentityStatus')],
      [VEID_STORE, (key) => this.veidStoreGet(key)],
      [
        '/virtengine.mfa.v1.Query/AuthorizationSession',
        query(QueryAuthorizationSessionRequest, QueryAuthorizationSessionResponse, ({ sessionId }) => {
          // GetAuthorizationSession fills only `session`: found / is_valid stay false on the wire.
          const session = this.sessions.get(sessionId);
          if (!session) throw moduleError(`session ${sessionId} not found: authorization session not found`);
          return { session };
        }),
      ],
      [
        '/virtengine.mfa.v1.Query/MFARequired',
        query(QueryMFARequiredRequest, QueryMFARequiredResponse, ({ address, transactionType }) => {
          const configured = this.requirements.get(`${address}/${transactionType}`);
          if (configured) return configured;
          const defaults = DEFAULT_REQUIREMENTS[transactionType];
          return defaults ? { required: true, ...defaults } : { required: false };
        }),
      ],
      [
        '/virtengine.mfa.v1.Query/TrustedDevice',
        query(QueryTrustedDeviceRequest, QueryTrustedDeviceResponse, ({ address, deviceFingerprint }) => {
          // GetTrustedDevice fills only `device`; a missing device is an error, never found: false.
          const device = this.devices.get(`${address}/${deviceFingerprint}`);
          if (!device) throw moduleError(`device ${deviceFingerprint} not found: trusted device not found`);
          return { device };
        }),
      ],
      // x/hpc/keeper/grpc_query.go has no Job / Jobs method; the records are read from the store.
      ['/virtengine.hpc.v1.Query/Job', unimplemented('Job')],
      ['/virtengine.hpc.v1.Query/Jobs', unimplemented('Jobs')],
      [HPC_STORE_KEY, (key) => this.hpcStore.key(key)],
      [HPC_STORE_SUBSPACE, (prefix) => this.hpcStore.subspace(prefix)],
    ]);
  }

  /**
   * The veid KV store as an ABCI store query reads it: ScoreKey = 0x08 + address bytes
   * (x/veid/types/keys.go) holds the keeper's scoreStore JSON (x/veid/keeper/score.go); a key
   * with nothing stored answers an empty value, not an error.
   */
  private veidStoreGet(key: Uint8Array): Uint8Array {
    for (const [address, stored] of this.scores) {
      if (Buffer.from([PREFIX_SCORE, ...fromBech32(address, 90).data]).equals(Buffer.from(key))) {
        const json = {
          account_address: address,
          score: stored.score,
          status: ACCOUNT_STATUSES[stored.status].toLowerCase(),
          model_version: stored.modelVersion,
          computed_at: stored.lastUpdatedAt,
          block_height: 1,
        };
        return new TextEncoder().encode(JSON.stringify(json));
      }
    }
    return new Uint8Array();
  }

  /**
   * x/hpc's BeginBlock (x/hpc/module.go → CheckClusterHealth, CheckStaleNodes): cluster capacity
   * rewritten from the ACTIVE nodes (updateClusterCapacity), and node liveness by time since
   * the node's last heartbeat: OFFLINE for over an hour → DEREGISTERED (for good: no state leaves
   * it); over 300 s and not OFFLINE → OFFLINE; ACTIVE over node_heartbeat_timeout (120 s) → STALE.
   */
  beginBlock(): void {
    const now = this.blockTime().getTime();
    for (const [nodeId, node] of this.nodes) {
      if (node.state === NodeState.NODE_STATE_DEREGISTERED) continue;
      const silentMs = now - node.lastHeartbeat.getTime();
      let next: NodeState = node.state;
      if (silentMs > NODE_DEREGISTRATION_SECONDS * 1000 && node.state === NodeState.NODE_STATE_OFFLINE) next = NodeState.NODE_STATE_DEREGISTERED;
      else if (silentMs > NODE_OFFLINE_SECONDS * 1000 && node.state !== NodeState.NODE_STATE_OFFLINE) next = NodeState.NODE_STATE_OFFLINE;
      else if (silentMs > NODE_HEARTBEAT_TIMEOUT_SECONDS * 1000 && node.state === NodeState.NODE_STATE_ACTIVE) next = NodeState.NODE_STATE_STALE;
      if (next !== node.state) this.nodes.set(nodeId, { ...node, state: next });
    }
    updateClusterCapacity(this);
  }

  /**
   * x/hpc's EndBlock (x/hpc/module.go → keeper.ProcessExpiredJobs): a started, non-terminal job
   * whose runtime exceeds its max_runtime_seconds (or params max_job_duration_seconds, 604800)
   * becomes TIMEOUT with "Job exceeded maximum runtime".
   */
  endBlock(): void {
    const now = this.blockTime().getTime();
    for (const [jobId, { startedAt: started }] of this.jobTimes) {
      const job = this.jobs.get(jobId);
      if (!started || !job || TERMINAL.includes(job.state)) continue;
      const runtimeMs = now - started.getTime();
      if (runtimeMs > MAX_JOB_DURATION_SECONDS * 1000 || runtimeMs > Number(job.maxRuntimeSeconds) * 1000) {
        this.jobs.set(jobId, { ...job, state: JobState.JOB_STATE_TIMEOUT, statusMessage: 'Job exceeded maximum runtime' });
        this.stampJob(jobId, { completedAt: this.blockTime() });
      }
    }
  }

  msgHandlers(): Map<string, MsgHandler> {
    const reportJobStatus: MsgHandler = {
      decode: (value) => MsgReportJobStatus.decode(value),
      validateBasic: (msg) => validateBasic.reportJobStatus(msg as MsgReportJobStatus),
      signer: (msg) => (msg as MsgReportJobStatus).providerAddress,
      check: (raw) => {
        const msg = raw as MsgReportJobStatus;
        const job = this.jobs.get(msg.jobId);
        if (!job) throw new HpcRefusal(HPC_REPORT_CODE.JOB_NOT_FOUND, `job ${msg.jobId} not found: HPC job not found`);
        if (job.providerAddress !== msg.providerAddress) throw new HpcRefusal(HPC_REPORT_CODE.UNAUTHORIZED, 'not the job provider: unauthorized');
        if (!(LEGAL_JOB_TRANSITIONS[job.state] ?? []).includes(msg.state)) {
          throw new HpcRefusal(HPC_REPORT_CODE.INVALID_JOB_STATE, 'invalid job state transition');
        }
      },
      apply: (raw) => {
        const msg = raw as MsgReportJobStatus;
        const job = this.jobs.get(msg.jobId)!;
        // keeper.UpdateJobStatus takes state, message and exit code only: slurm_job_id, the usage
        // metrics and the signature in the message are never stored.
        this.jobs.set(msg.jobId, { ...job, state: msg.state, statusMessage: msg.statusMessage, exitCode: msg.exitCode });
        const now = this.blockTime();
        if (msg.state === JobState.JOB_STATE_QUEUED) this.stampJob(msg.jobId, { queuedAt: now });
        else if (msg.state === JobState.JOB_STATE_RUNNING) this.stampJob(msg.jobId, { startedAt: now });
        else if (TERMINAL.includes(msg.state)) this.stampJob(msg.jobId, { completedAt: now });
        return Any.fromPartial({ typeUrl: MsgReportJobStatusResponse.typeUrl, value: MsgReportJobStatusResponse.encode({}).finish() });
      },
    };
    const send: MsgHandler = {
      decode: (value) => MsgSend.decode(value),
      signer: (msg) => (msg as MsgSend).fromAddress,
      check: (raw) => {
        const msg = raw as MsgSend;
        for (const coin of msg.amount) {
          const have = this.balances.get(`${msg.fromAddress}/${coin.denom}`) ?? 0n;
          if (have < BigInt(coin.amount))
            throw new Refusal(
              CODE.INSUFFICIENT_FUNDS,
              `spendable balance ${have}${coin.denom} is smaller than ${coin.amount}${coin.denom}: insufficient funds`,
            );
        }
      },
      apply: (raw) => {
        const msg = raw as MsgSend;
        for (const coin of msg.amount) {
          const from = `${msg.fromAddress}/${coin.denom}`;
          const to = `${msg.toAddress}/${coin.denom}`;
          this.balances.set(from, (this.balances.get(from) ?? 0n) - BigInt(coin.amount));
          this.balances.set(to, (this.balances.get(to) ?? 0n) + BigInt(coin.amount));
        }
        return Any.fromPartial({ typeUrl: '/cosmos.bank.v1beta1.MsgSendResponse', value: MsgSendResponse.encode({}).finish() });
      },
    };
    return new Map([
      [MsgReportJobStatus.typeUrl, reportJobStatus],
      ['/cosmos.bank.v1beta1.MsgSend', send],
      ...hpcProviderHandlers(this, this.blockTime),
      ...hpcCustomerHandlers(this, this.blockTime),
    ]);
  }
}
