import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobState, MsgReportJobStatus, MsgUpdateNodeMetadata } from '../../src/adapters/chain/generated/virtengine';
import { failedMessageIndex } from '../../src/features/ledger/chain-sender';
import { chainTerminalState, jobStatusMessages, remainingTransitions } from '../../src/features/ledger/job-report';
import { ledgerSettings } from '../../src/adapters/config/ledger-settings';
import { nodeLiveness, NodeFacts, regionOf } from '../../src/features/ledger/provider-messages';
import { toChainUsageMetrics } from '../../src/core/usage/chain-usage-metrics';

const {
  JOB_STATE_PENDING: P,
  JOB_STATE_QUEUED: Q,
  JOB_STATE_RUNNING: R,
  JOB_STATE_COMPLETED: C,
  JOB_STATE_FAILED: F,
  JOB_STATE_CANCELLED: X,
  JOB_STATE_TIMEOUT: T,
} = JobState;

/** The keeper's only legal transitions (reference §0.5). */
const LEGAL: Record<number, number[]> = { [P]: [Q, F, X], [Q]: [R, F, X, T], [R]: [C, F, X, T] };

describe('job lifecycle on chain (pure)', () => {
  it("maps every terminal state of ours to one of the chain's four", () => {
    assert.equal(chainTerminalState('COMPLETED'), C);
    for (const s of ['FAILED', 'NODE_FAIL', 'BOOT_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'LOST', 'REJECTED']) assert.equal(chainTerminalState(s), F, s);
    assert.equal(chainTerminalState('REVOKED'), X);
    assert.equal(chainTerminalState('DEADLINE'), T);
    assert.equal(chainTerminalState('RUNNING'), null);
  });

  it('from any non-terminal chain state, every planned step is legal and ends in the terminal state', () => {
    for (const chainState of [P, Q, R]) {
      for (const terminal of [C, F, X, T]) {
        for (const started of [true, false]) {
          const plan = remainingTransitions(chainState, terminal, started);
          assert.ok('states' in plan, `${chainState}->${terminal}`);
          let at: number = chainState;
          for (const next of plan.states) {
            assert.ok(LEGAL[at]?.includes(next), `${at} -> ${next} (from ${chainState}, to ${terminal}, started ${started})`);
            at = next;
          }
          assert.equal(at, terminal);
        }
      }
    }
  });

  it('QUEUED first, RUNNING only for jobs that ran; nothing the chain already has', () => {
    assert.deepEqual(remainingTransitions(P, C, true), { states: [Q, R, C] });
    assert.deepEqual(remainingTransitions(P, X, false), { states: [Q, X] });
    assert.deepEqual(remainingTransitions(Q, F, true), { states: [R, F] });
    assert.deepEqual(remainingTransitions(C, C, true), { states: [] });
  });

  it('refuses a chain job already ended another way, or in an unknown state', () => {
    assert.match((remainingTransitions(X, C, true) as { refusal: string }).refusal, /already has this job CANCELLED/);
    assert.ok('refusal' in remainingTransitions(0 as JobState, C, true));
  });

  it('only the terminal message carries metrics, signature and the record hash', () => {
    const metrics = toChainUsageMetrics({
      nodeSeconds: 7200,
      cpuCoreSeconds: 100,
      memoryMbSeconds: 2048,
      gpuSeconds: { a: 1, b: 2 },
      wallSeconds: 60,
      memoryGbSeconds: '2',
      nodeHours: '2',
      nodesUsed: 2,
      runs: 1,
      requeuedRuns: 0,
      started: true,
    });
    const messages = jobStatusMessages({
      provider: 've1p',
      chainJobId: 'JOB-1',
      slurmJobId: '42',
      states: [Q, R, C],
      ourState: 'COMPLETED',
      exitCode: 0,
      metrics,
      contentHash: 'ab'.repeat(32),
      signature: Buffer.alloc(64, 1),
      signedAt: 1_700_000_000,
    });
    const values = messages.map((m) => m.value as MsgReportJobStatus);
    assert.ok(messages.every((m) => m.typeUrl === MsgReportJobStatus.typeUrl));
    assert.deepEqual(
      values.map((v) => v.state),
      [Q, R, C],
    );
    assert.equal(values[0].usageMetrics, undefined);
    assert.equal(values[0].signature, '');
    assert.equal(values[2].usageMetrics?.gpuSeconds, 3n);
    assert.equal(values[2].signature, Buffer.alloc(64, 1).toString('base64'));
    assert.equal(values[2].signedTimestamp, 1_700_000_000n);
    assert.equal(values[2].statusMessage, `COMPLETED; usage record sha256:${'ab'.repeat(32)}`);
  });

  it('reads the failing message index the SDK logs', () => {
    assert.equal(failedMessageIndex('failed to execute message; message index: 12: invalid job state transition'), 12);
    assert.equal(failedMessageIndex('insufficient fees'), null);
  });
});

describe('provider-daemon messages (pure)', () => {
  const node = (name: string, region?: string): NodeFacts => ({
    id: name,
    name,
    inventory: { cpus: 4, memoryMb: 10_000, gpus: [{ model: 'a100', count: 2 }], features: [], performance: 'high' },
    tags: region ? { region } : {},
    latencies: [{ to: 'x', rttMs: 0.3, measuredAt: new Date(1_700_000_000_500) }],
  });

  it("an island's region is the one most nodes name, ties alphabetical, else the default", () => {
    assert.equal(regionOf([node('a', 'us'), node('b', 'eu'), node('c', 'us')], 'unknown'), 'us');
    assert.equal(regionOf([node('a', 'us'), node('b', 'eu')], 'unknown'), 'eu');
    assert.equal(regionOf([node('a')], 'unknown'), 'unknown');
  });

  it('liveness: ACTIVE, region, whole resources, sub-millisecond RTT rounded up, the round as sequence', () => {
    const value = nodeLiveness('ve1p', 'HPC-1', node('n1'), 99n, 'unknown').value as MsgUpdateNodeMetadata;
    assert.equal(value.state, 3);
    assert.equal(value.active, true);
    assert.equal(value.region, 'unknown');
    assert.deepEqual(value.resources, { cpuCores: 4, memoryGb: 9, gpus: 2, gpuType: 'a100', storageGb: 0 });
    assert.equal(value.latencyMeasurements[0].latencyMs, 1n);
    assert.equal(value.latencyMeasurements[0].measuredAt?.seconds, 1_700_000_000n);
    assert.equal(value.lastSequenceNumber, 99n);
  });
});

describe('ledger settings', () => {
  it('defaults, and refuses out-of-range values naming the variable', () => {
    assert.equal(ledgerSettings({}).livenessIntervalMs, 30_000);
    assert.throws(() => ledgerSettings({ CHAIN_LIVENESS_INTERVAL_MS: '120000' }), /CHAIN_LIVENESS_INTERVAL_MS/);
    assert.throws(() => ledgerSettings({ CHAIN_MAX_MSGS_PER_TX: '0' }), /CHAIN_MAX_MSGS_PER_TX/);
    assert.throws(() => ledgerSettings({ CHAIN_PROVIDER_KEY_FILE: '/nonexistent/key' }), /CHAIN_PROVIDER_KEY_FILE/);
  });
});
