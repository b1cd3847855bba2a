import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALL_JOB_STATES,
  ARRAY_FAILURE_PRECEDENCE,
  JobState,
  SLURM_BASE_STATES,
  SLURM_FLAG_STATES_BY_PRECEDENCE,
  SLURM_STATES,
  UnknownSlurmStateError,
  aggregateArrayState,
  hasStarted,
  isIllegalTransition,
  isJobState,
  isTerminal,
  nextState,
  parseSlurmState,
  type IllegalTransition,
  type TransitionResult,
} from '../../src/core/jobs/lifecycle';

const S = JobState;

/** Every SLURM state string as job_state_string() prints it (22.05). */
const PRINTED: readonly string[] = [
  'PENDING',
  'RUNNING',
  'SUSPENDED',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'COMPLETING',
  'STAGE_OUT',
  'CONFIGURING',
  'RESIZING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'SPECIAL_EXIT',
  'STOPPED',
  'REVOKED',
  'RESV_DEL_HOLD',
  'SIGNALING',
];

const COMPACT: Readonly<Record<string, JobState>> = {
  PD: S.PENDING,
  R: S.RUNNING,
  S: S.SUSPENDED,
  CD: S.COMPLETED,
  CA: S.CANCELLED,
  F: S.FAILED,
  TO: S.TIMEOUT,
  NF: S.NODE_FAIL,
  PR: S.PREEMPTED,
  BF: S.BOOT_FAIL,
  DL: S.DEADLINE,
  OOM: S.OUT_OF_MEMORY,
  CG: S.COMPLETING,
  SO: S.STAGE_OUT,
  CF: S.CONFIGURING,
  RS: S.RESIZING,
  RQ: S.REQUEUED,
  RF: S.REQUEUE_FED,
  RH: S.REQUEUE_HOLD,
  SE: S.SPECIAL_EXIT,
  ST: S.STOPPED,
  RV: S.REVOKED,
  RD: S.RESV_DEL_HOLD,
  SI: S.SIGNALING,
};

const TERMINALS: readonly JobState[] = [
  S.REJECTED,
  S.LOST,
  S.COMPLETED,
  S.CANCELLED,
  S.FAILED,
  S.TIMEOUT,
  S.NODE_FAIL,
  S.PREEMPTED,
  S.BOOT_FAIL,
  S.DEADLINE,
  S.OUT_OF_MEMORY,
  S.REVOKED,
];
const SLURM_TERMINALS: readonly JobState[] = TERMINALS.filter((s) => s !== S.REJECTED && s !== S.LOST);
const REQUEUE_MARKERS: readonly JobState[] = [S.REQUEUED, S.REQUEUE_HOLD, S.REQUEUE_FED, S.SPECIAL_EXIT];
const AUTO_REQUEUE: readonly JobState[] = [S.NODE_FAIL, S.PREEMPTED, S.BOOT_FAIL];

function applied(r: TransitionResult | IllegalTransition, to: JobState): void {
  assert.ok(!isIllegalTransition(r), `expected ${to} to apply, got ${JSON.stringify(r)}`);
  assert.deepEqual(r, { state: to, changed: true });
}
function ignored(r: TransitionResult | IllegalTransition, stays: JobState, why: 'stale' | 'already-final'): void {
  assert.ok(!isIllegalTransition(r), `expected ignore, got ${JSON.stringify(r)}`);
  assert.deepEqual(r, { state: stays, changed: false, ignored: why });
}
function illegal(r: TransitionResult | IllegalTransition): void {
  assert.ok(isIllegalTransition(r), `expected illegal, got ${JSON.stringify(r)}`);
  assert.equal(typeof r.reason, 'string');
  assert.ok(r.reason.length > 0);
}

describe('JobState', () => {
  it('has every SLURM state plus ACCEPTED, DISPATCHING, REJECTED, LOST, each once', () => {
    assert.equal(new Set(ALL_JOB_STATES).size, ALL_JOB_STATES.length);
    assert.deepEqual([...SLURM_STATES].sort(), [...PRINTED].sort());
    assert.equal(ALL_JOB_STATES.length, PRINTED.length + 4);
    for (const s of ['ACCEPTED', 'DISPATCHING', 'REJECTED', 'LOST']) assert.ok(isJobState(s));
    assert.ok(!isJobState('QUEUED'));
    assert.ok(!isJobState(3));
    for (const [k, v] of Object.entries(JobState)) assert.equal(k, v);
  });

  it('keeps the documented flag precedence', () => {
    assert.deepEqual(SLURM_FLAG_STATES_BY_PRECEDENCE, [
      'COMPLETING',
      'STAGE_OUT',
      'CONFIGURING',
      'RESIZING',
      'REQUEUED',
      'REQUEUE_FED',
      'REQUEUE_HOLD',
      'SPECIAL_EXIT',
      'STOPPED',
      'REVOKED',
      'RESV_DEL_HOLD',
      'SIGNALING',
    ]);
    assert.equal(SLURM_BASE_STATES.length, 12);
  });
});

describe('parseSlurmState', () => {
  for (const printed of PRINTED) {
    it(`maps ${printed} (any case, padded)`, () => {
      assert.equal(parseSlurmState(printed), printed);
      assert.equal(parseSlurmState(printed.toLowerCase()), printed);
      assert.equal(parseSlurmState(`  ${printed}\n`), printed);
    });
  }

  it('maps every squeue compact code', () => {
    assert.equal(Object.keys(COMPACT).length, PRINTED.length);
    for (const [code, state] of Object.entries(COMPACT)) {
      assert.equal(parseSlurmState(code), state, code);
      assert.equal(parseSlurmState(code.toLowerCase()), state, code);
    }
  });

  it('maps sacct "CANCELLED by <uid>"', () => {
    assert.equal(parseSlurmState('CANCELLED by 1001'), S.CANCELLED);
    assert.equal(parseSlurmState('cancelled by 0'), S.CANCELLED);
    assert.equal(parseSlurmState('CANCELLED by alice'), S.CANCELLED);
  });

  it('maps sacct truncated columns only when unambiguous', () => {
    assert.equal(parseSlurmState('CANCELLED+'), S.CANCELLED);
    assert.equal(parseSlurmState('OUT_OF_ME+'), S.OUT_OF_MEMORY);
    assert.equal(parseSlurmState('RESV_DEL_+'), S.RESV_DEL_HOLD);
    assert.equal(parseSlurmState('SPECIAL_E+'), S.SPECIAL_EXIT);
    assert.equal(parseSlurmState('PENDING+'), S.PENDING);
    assert.throws(() => parseSlurmState('REQUEUE_+'), UnknownSlurmStateError); // REQUEUED/_FED/_HOLD
    assert.throws(() => parseSlurmState('R+'), UnknownSlurmStateError);
    assert.throws(() => parseSlurmState('XYZ+'), UnknownSlurmStateError);
    assert.throws(() => parseSlurmState('+'), UnknownSlurmStateError);
  });

  it('resolves complete forms with the flag precedence', () => {
    assert.equal(parseSlurmState('RUNNING,COMPLETING'), S.COMPLETING);
    assert.equal(parseSlurmState('FAILED,COMPLETING'), S.COMPLETING);
    assert.equal(parseSlurmState('PENDING,REQUEUED'), S.REQUEUED);
    assert.equal(parseSlurmState('PENDING+REQUEUED'), S.REQUEUED);
    assert.equal(parseSlurmState('PENDING,REQUEUED,COMPLETING'), S.COMPLETING);
    assert.equal(parseSlurmState('RUNNING,CONFIGURING,POWER_UP_NODE'), S.CONFIGURING);
    assert.equal(parseSlurmState('RUNNING,SIGNALING,STOPPED'), S.STOPPED);
    assert.equal(parseSlurmState('CANCELLED,REVOKED'), S.REVOKED);
    assert.equal(parseSlurmState('COMPLETED,UPDATE_DB'), S.COMPLETED);
    assert.equal(parseSlurmState('pending, launch_failed'), S.PENDING);
  });

  it('throws UnknownSlurmStateError for anything else, never PENDING', () => {
    const bad = [
      '',
      '   ',
      '?',
      'UNKNOWN',
      'QUEUED',
      'PENDIN',
      'RUNNING!',
      'RUN NING',
      'PD PD',
      'COMPLETE',
      'ACCEPTED',
      'DISPATCHING',
      'REJECTED',
      'LOST',
      'RUNNING,',
      ',RUNNING',
      'RUNNING,FOO',
      'RUNNING,FAILED',
      'UPDATE_DB',
      'LAUNCH_FAILED,POWER_UP_NODE',
      'CANCELLED by',
      'CANCELLED by 1 2',
      'PENDING\u0000',
      'OOM_KILL',
      '0',
      'null',
    ];
    for (const raw of bad) {
      assert.throws(() => parseSlurmState(raw), UnknownSlurmStateError, JSON.stringify(raw));
    }
    const err = (() => {
      try {
        parseSlurmState('WEIRD');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof UnknownSlurmStateError);
    assert.equal(err.raw, 'WEIRD');
    assert.equal(err.name, 'UnknownSlurmStateError');
    assert.throws(() => parseSlurmState(undefined as unknown as string), UnknownSlurmStateError);
  });
});

describe('isTerminal / hasStarted', () => {
  it('classifies every state', () => {
    for (const s of ALL_JOB_STATES) {
      assert.equal(isTerminal(s), TERMINALS.includes(s), s);
    }
    for (const s of [S.COMPLETING, S.CONFIGURING, S.STAGE_OUT, S.REQUEUED, S.SPECIAL_EXIT, S.ACCEPTED]) {
      assert.ok(!isTerminal(s), s);
    }
  });

  it('says which states prove the job had resources', () => {
    const started: JobState[] = [
      S.CONFIGURING,
      S.RUNNING,
      S.SUSPENDED,
      S.STOPPED,
      S.SIGNALING,
      S.RESIZING,
      S.COMPLETING,
      S.STAGE_OUT,
      S.REQUEUED,
      S.REQUEUE_HOLD,
      S.REQUEUE_FED,
      S.SPECIAL_EXIT,
      S.COMPLETED,
      S.TIMEOUT,
      S.OUT_OF_MEMORY,
      S.NODE_FAIL,
      S.BOOT_FAIL,
      S.PREEMPTED,
    ];
    for (const s of ALL_JOB_STATES) assert.equal(hasStarted(s), started.includes(s), s);
  });
});

describe('nextState', () => {
  it('reports no change for the same state', () => {
    for (const s of ALL_JOB_STATES) assert.deepEqual(nextState(s, s), { state: s, changed: false });
  });

  it('ACCEPTED -> DISPATCHING, REJECTED, CANCELLED only', () => {
    applied(nextState(S.ACCEPTED, S.DISPATCHING), S.DISPATCHING);
    applied(nextState(S.ACCEPTED, S.REJECTED), S.REJECTED);
    applied(nextState(S.ACCEPTED, S.CANCELLED), S.CANCELLED);
    for (const s of ALL_JOB_STATES) {
      if (([S.ACCEPTED, S.DISPATCHING, S.REJECTED, S.CANCELLED] as JobState[]).includes(s)) continue;
      illegal(nextState(S.ACCEPTED, s));
    }
  });

  it('DISPATCHING -> ACCEPTED (retry), REJECTED, LOST and any SLURM state', () => {
    applied(nextState(S.DISPATCHING, S.ACCEPTED), S.ACCEPTED);
    applied(nextState(S.DISPATCHING, S.REJECTED), S.REJECTED);
    applied(nextState(S.DISPATCHING, S.LOST), S.LOST);
    for (const s of SLURM_STATES) applied(nextState(S.DISPATCHING, s), s);
  });

  it('a short job may be first seen COMPLETED', () => {
    applied(nextState(S.DISPATCHING, S.COMPLETED), S.COMPLETED);
    applied(nextState(S.PENDING, S.COMPLETED), S.COMPLETED);
  });

  it('never returns a SLURM job to ACCEPTED, DISPATCHING or REJECTED', () => {
    for (const s of SLURM_STATES) {
      illegal(nextState(s, S.ACCEPTED));
      illegal(nextState(s, S.DISPATCHING));
      illegal(nextState(s, S.REJECTED));
    }
  });

  it('every terminal state refuses to go back to a non-requeue state', () => {
    const nonRequeue = ALL_JOB_STATES.filter((s) => !REQUEUE_MARKERS.includes(s));
    for (const from of TERMINALS) {
      for (const to of nonRequeue) {
        if (to === from) continue;
        if (to === S.LOST) continue; // covered below: ignored, not illegal, for SLURM finals
        if (to === S.PENDING && AUTO_REQUEUE.includes(from)) continue; // requeue edge
        illegal(nextState(from, to));
      }
    }
  });

  it('REJECTED and LOST accept nothing, not even requeue flags or evidence', () => {
    for (const from of [S.REJECTED, S.LOST]) {
      for (const to of ALL_JOB_STATES) {
        if (to === from) continue;
        illegal(nextState(from, to, { requeued: true }));
      }
    }
  });

  it('SLURM forgetting a finished job is not news (LOST ignored)', () => {
    for (const from of SLURM_TERMINALS) ignored(nextState(from, S.LOST), from, 'already-final');
  });

  it('LOST applies to jobs SLURM had and that were not finished', () => {
    for (const from of SLURM_STATES) {
      if (SLURM_TERMINALS.includes(from)) continue;
      applied(nextState(from, S.LOST), S.LOST);
    }
    illegal(nextState(S.ACCEPTED, S.LOST));
  });

  it('requeue: NODE_FAIL / PREEMPTED / BOOT_FAIL may go back to PENDING', () => {
    for (const from of AUTO_REQUEUE) applied(nextState(from, S.PENDING), S.PENDING);
  });

  it('requeue flags are accepted after any SLURM final state', () => {
    for (const from of SLURM_TERMINALS) {
      for (const to of REQUEUE_MARKERS) applied(nextState(from, to), to);
    }
  });

  it('requeue flags are accepted after the job had resources', () => {
    for (const from of [S.CONFIGURING, S.RUNNING, S.SUSPENDED, S.STOPPED, S.SIGNALING, S.RESIZING, S.COMPLETING, S.STAGE_OUT]) {
      for (const to of REQUEUE_MARKERS) applied(nextState(from, to), to);
    }
  });

  it('a whole requeue cycle as a poller sees it', () => {
    const seen: JobState[] = [S.RUNNING, S.COMPLETING, S.PENDING, S.RUNNING, S.COMPLETING, S.COMPLETED];
    let state: JobState = S.DISPATCHING;
    for (const observed of seen) {
      const r = nextState(state, observed);
      applied(r, observed);
      state = observed;
    }
    // With REQUEUED seen, and with a hold:
    applied(nextState(S.RUNNING, S.REQUEUED), S.REQUEUED);
    applied(nextState(S.REQUEUED, S.PENDING), S.PENDING);
    applied(nextState(S.FAILED, S.SPECIAL_EXIT), S.SPECIAL_EXIT);
    applied(nextState(S.SPECIAL_EXIT, S.PENDING), S.PENDING);
    applied(nextState(S.REQUEUE_HOLD, S.PENDING), S.PENDING);
    applied(nextState(S.REVOKED, S.REQUEUE_FED), S.REQUEUE_FED);
    applied(nextState(S.REQUEUE_FED, S.PENDING), S.PENDING);
  });

  it('PENDING after COMPLETING / STAGE_OUT is a requeue', () => {
    applied(nextState(S.COMPLETING, S.PENDING), S.PENDING);
    applied(nextState(S.STAGE_OUT, S.PENDING), S.PENDING);
  });

  it('ignores stale observations (backwards without a requeue)', () => {
    ignored(nextState(S.RUNNING, S.PENDING), S.RUNNING, 'stale');
    ignored(nextState(S.SUSPENDED, S.PENDING), S.SUSPENDED, 'stale');
    ignored(nextState(S.CONFIGURING, S.PENDING), S.CONFIGURING, 'stale');
    ignored(nextState(S.RUNNING, S.CONFIGURING), S.RUNNING, 'stale');
    ignored(nextState(S.COMPLETING, S.RUNNING), S.COMPLETING, 'stale');
    ignored(nextState(S.COMPLETING, S.CONFIGURING), S.COMPLETING, 'stale');
    ignored(nextState(S.STAGE_OUT, S.SUSPENDED), S.STAGE_OUT, 'stale');
    ignored(nextState(S.RUNNING, S.RESV_DEL_HOLD), S.RUNNING, 'stale');
  });

  it('applies backwards moves when the caller has requeue evidence', () => {
    applied(nextState(S.RUNNING, S.PENDING, { requeued: true }), S.PENDING);
    applied(nextState(S.COMPLETING, S.RUNNING, { requeued: true }), S.RUNNING);
    applied(nextState(S.COMPLETED, S.PENDING, { requeued: true }), S.PENDING);
    applied(nextState(S.FAILED, S.RUNNING, { requeued: true }), S.RUNNING);
    illegal(nextState(S.ACCEPTED, S.RUNNING, { requeued: true }));
  });

  it('applies forward and lateral moves', () => {
    const forward: Array<[JobState, JobState]> = [
      [S.PENDING, S.CONFIGURING],
      [S.PENDING, S.RUNNING],
      [S.PENDING, S.COMPLETING],
      [S.PENDING, S.CANCELLED],
      [S.PENDING, S.DEADLINE],
      [S.PENDING, S.REQUEUE_HOLD],
      [S.PENDING, S.RESV_DEL_HOLD],
      [S.RESV_DEL_HOLD, S.PENDING],
      [S.CONFIGURING, S.RUNNING],
      [S.CONFIGURING, S.BOOT_FAIL],
      [S.RUNNING, S.SUSPENDED],
      [S.SUSPENDED, S.RUNNING],
      [S.RUNNING, S.STOPPED],
      [S.STOPPED, S.RUNNING],
      [S.RUNNING, S.SIGNALING],
      [S.SIGNALING, S.RUNNING],
      [S.RUNNING, S.RESIZING],
      [S.RUNNING, S.COMPLETING],
      [S.COMPLETING, S.STAGE_OUT],
      [S.STAGE_OUT, S.COMPLETING],
      [S.COMPLETING, S.COMPLETED],
      [S.COMPLETING, S.FAILED],
      [S.RUNNING, S.TIMEOUT],
      [S.RUNNING, S.OUT_OF_MEMORY],
      [S.RUNNING, S.NODE_FAIL],
      [S.RUNNING, S.PREEMPTED],
      [S.SUSPENDED, S.CANCELLED],
      [S.PENDING, S.REVOKED],
      [S.REQUEUED, S.RUNNING],
    ];
    for (const [from, to] of forward) applied(nextState(from, to), to);
  });

  it('every non-terminal SLURM state may end in any SLURM final state', () => {
    for (const from of SLURM_STATES) {
      if (isTerminal(from)) continue;
      for (const to of SLURM_TERMINALS) applied(nextState(from, to), to);
    }
  });

  it('one final state never turns into another', () => {
    illegal(nextState(S.COMPLETED, S.FAILED));
    illegal(nextState(S.CANCELLED, S.COMPLETED));
    illegal(nextState(S.FAILED, S.RUNNING));
    illegal(nextState(S.COMPLETED, S.PENDING));
    illegal(nextState(S.TIMEOUT, S.PENDING));
  });

  it('exhaustive: every pair gives a well-formed result', () => {
    for (const from of ALL_JOB_STATES) {
      for (const to of ALL_JOB_STATES) {
        const r = nextState(from, to);
        if (isIllegalTransition(r)) {
          assert.equal(r.from, from);
          assert.equal(r.to, to);
        } else {
          assert.ok(r.state === from || r.state === to);
          assert.equal(r.changed, r.state !== from);
        }
      }
    }
  });
});

describe('aggregateArrayState', () => {
  it('any task running-ish -> RUNNING', () => {
    assert.equal(aggregateArrayState([S.COMPLETED, S.RUNNING, S.FAILED], 3), S.RUNNING);
    assert.equal(aggregateArrayState([S.PENDING, S.CONFIGURING], 0), S.RUNNING);
    assert.equal(aggregateArrayState([S.COMPLETING, S.COMPLETED], 0), S.RUNNING);
    assert.equal(aggregateArrayState([S.STAGE_OUT, S.SUSPENDED], 0), S.RUNNING);
  });

  it('only suspended / stopped among the unfinished -> SUSPENDED', () => {
    assert.equal(aggregateArrayState([S.SUSPENDED, S.PENDING], 2), S.SUSPENDED);
    assert.equal(aggregateArrayState([S.STOPPED, S.COMPLETED], 0), S.SUSPENDED);
  });

  it('some pending, none running -> PENDING', () => {
    assert.equal(aggregateArrayState([], 10), S.PENDING);
    assert.equal(aggregateArrayState([S.COMPLETED, S.COMPLETED], 5), S.PENDING);
    assert.equal(aggregateArrayState([S.FAILED, S.PENDING], 0), S.PENDING);
    assert.equal(aggregateArrayState([S.COMPLETED, S.REQUEUE_HOLD], 0), S.PENDING);
    assert.equal(aggregateArrayState([S.COMPLETED, S.SPECIAL_EXIT, S.CANCELLED], 0), S.PENDING);
  });

  it('all COMPLETED -> COMPLETED', () => {
    assert.equal(aggregateArrayState([S.COMPLETED], 0), S.COMPLETED);
    assert.equal(aggregateArrayState(Array(100).fill(S.COMPLETED), 0), S.COMPLETED);
  });

  it('all final otherwise -> the worst', () => {
    assert.equal(aggregateArrayState([S.COMPLETED, S.CANCELLED], 0), S.CANCELLED);
    assert.equal(aggregateArrayState([S.CANCELLED, S.FAILED, S.COMPLETED], 0), S.FAILED);
    assert.equal(aggregateArrayState([S.FAILED, S.TIMEOUT], 0), S.TIMEOUT);
    assert.equal(aggregateArrayState([S.TIMEOUT, S.OUT_OF_MEMORY], 0), S.OUT_OF_MEMORY);
    assert.equal(aggregateArrayState([S.OUT_OF_MEMORY, S.NODE_FAIL], 0), S.NODE_FAIL);
    assert.equal(aggregateArrayState([S.OUT_OF_MEMORY, S.BOOT_FAIL], 0), S.BOOT_FAIL);
    assert.equal(aggregateArrayState([S.BOOT_FAIL, S.NODE_FAIL], 0), S.NODE_FAIL);
    assert.equal(aggregateArrayState([S.FAILED, S.PREEMPTED], 0), S.FAILED);
    assert.equal(aggregateArrayState([S.CANCELLED, S.PREEMPTED], 0), S.PREEMPTED);
    assert.equal(aggregateArrayState([S.TIMEOUT, S.DEADLINE], 0), S.TIMEOUT);
    assert.equal(aggregateArrayState([S.FAILED, S.DEADLINE], 0), S.DEADLINE);
    assert.equal(aggregateArrayState([S.COMPLETED, S.LOST], 0), S.LOST);
    assert.equal(aggregateArrayState([S.LOST, S.OUT_OF_MEMORY], 0), S.LOST);
    assert.equal(aggregateArrayState([S.CANCELLED, S.REVOKED], 0), S.CANCELLED);
  });

  it('the precedence list is total over final task states and ordered as documented', () => {
    for (const s of TERMINALS) {
      if (s === S.REJECTED) continue;
      assert.ok((ARRAY_FAILURE_PRECEDENCE as readonly JobState[]).includes(s), s);
    }
    for (let i = 0; i < ARRAY_FAILURE_PRECEDENCE.length - 1; i++) {
      const worse = ARRAY_FAILURE_PRECEDENCE[i] as JobState;
      const better = ARRAY_FAILURE_PRECEDENCE[i + 1] as JobState;
      assert.equal(aggregateArrayState([better, worse, better], 0), worse);
    }
  });

  it('refuses impossible input', () => {
    assert.throws(() => aggregateArrayState([], 0), RangeError);
    assert.throws(() => aggregateArrayState([S.RUNNING], -1), RangeError);
    assert.throws(() => aggregateArrayState([S.RUNNING], 1.5), RangeError);
    assert.throws(() => aggregateArrayState([S.ACCEPTED], 0), RangeError);
    assert.throws(() => aggregateArrayState([S.DISPATCHING, S.RUNNING], 0), RangeError);
    assert.throws(() => aggregateArrayState([S.REJECTED], 0), RangeError);
  });
});
