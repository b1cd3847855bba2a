import type { EncodeObject } from '@cosmjs/proto-signing';
import { JobState as ChainJobState, MsgReportJobStatus } from '../../adapters/chain/generated/virtengine';
import type { ChainUsageMetrics } from '../../core/usage/chain-usage-metrics';

const { JOB_STATE_PENDING: PENDING, JOB_STATE_QUEUED: QUEUED, JOB_STATE_RUNNING: RUNNING } = ChainJobState;
const { JOB_STATE_COMPLETED: COMPLETED, JOB_STATE_FAILED: FAILED, JOB_STATE_CANCELLED: CANCELLED, JOB_STATE_TIMEOUT: TIMEOUT } = ChainJobState;

const CHAIN_TERMINAL: ReadonlySet<ChainJobState> = new Set([COMPLETED, FAILED, CANCELLED, TIMEOUT]);

/**
 * Our terminal states on the chain's four. The chain has no node failure, OOM, preemption or
 * deadline: those jobs FAILED (did not complete through no fault of the customer's request being
 * cancelled); a job revoked by federation was CANCELLED; a deadline is a TIMEOUT.
 */
const TERMINAL_ON_CHAIN: Readonly<Record<string, ChainJobState>> = {
  COMPLETED,
  FAILED,
  NODE_FAIL: FAILED,
  BOOT_FAIL: FAILED,
  OUT_OF_MEMORY: FAILED,
  PREEMPTED: FAILED,
  LOST: FAILED,
  REJECTED: FAILED,
  CANCELLED,
  REVOKED: CANCELLED,
  TIMEOUT,
  DEADLINE: TIMEOUT,
};

export function chainTerminalState(ourState: string): ChainJobState | null {
  return TERMINAL_ON_CHAIN[ourState] ?? null;
}

export const chainStateName = (state: number) =>
  Object.entries(ChainJobState)
    .find(([, v]) => v === state)?.[0]
    .replace('JOB_STATE_', '') ?? String(state);

/**
 * The statuses still to report so the chain's job ends in `terminal`, following the keeper's only
 * legal transitions (PENDING→QUEUED→RUNNING→terminal; QUEUED first, terminal last): a job that ran
 * goes through RUNNING, one that never started goes QUEUED → terminal (COMPLETED always ran).
 * Whatever the chain already has is not sent again. A chain job already in another terminal state,
 * or in a state we cannot continue from, is a refusal: sending anything would be illegal.
 */
export function remainingTransitions(chainState: ChainJobState, terminal: ChainJobState, started: boolean): { states: ChainJobState[] } | { refusal: string } {
  const path = started || terminal === COMPLETED ? [QUEUED, RUNNING, terminal] : [QUEUED, terminal];
  if (chainState === terminal) return { states: [] };
  if (CHAIN_TERMINAL.has(chainState))
    return { refusal: `the chain already has this job ${chainStateName(chainState)}; it ended ${chainStateName(terminal)} here` };
  if (chainState === PENDING) return { states: path };
  const at = path.indexOf(chainState);
  if (at >= 0) return { states: path.slice(at + 1) };
  if (chainState === RUNNING) return { states: [terminal] };
  return { refusal: `the chain's job is in state ${chainStateName(chainState)}, which no report can continue from` };
}

export interface JobReport {
  provider: string;
  chainJobId: string;
  slurmJobId: string;
  states: ChainJobState[];
  /** Our own final state, for the status message. */
  ourState: string;
  exitCode: number;
  metrics: ChainUsageMetrics;
  contentHash: string;
  signature: Buffer;
  signedAt: number;
}

/**
 * The MsgReportJobStatus messages, in order. Only the terminal one carries the usage metrics, the
 * usage record's signature (base64) and when it was signed; its status message names the record's
 * content hash so the chain's job points at the signed record.
 */
export function jobStatusMessages(report: JobReport): EncodeObject[] {
  return report.states.map((state) => {
    const terminal = CHAIN_TERMINAL.has(state);
    return {
      typeUrl: MsgReportJobStatus.typeUrl,
      value: MsgReportJobStatus.fromPartial({
        providerAddress: report.provider,
        jobId: report.chainJobId,
        slurmJobId: report.slurmJobId,
        state,
        statusMessage: terminal ? `${report.ourState}; usage record sha256:${report.contentHash}` : '',
        ...(terminal
          ? {
              exitCode: report.exitCode,
              usageMetrics: report.metrics,
              signature: report.signature.toString('base64'),
              signedTimestamp: BigInt(report.signedAt),
            }
          : {}),
      }),
    };
  });
}
