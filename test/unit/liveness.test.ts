import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  livenessTransition,
  NODE_STATES,
  NodeState,
  stateAfterDrain,
  stateAfterHeartbeat,
  stateAfterResume,
  stateForSilence,
} from '../../src/core/nodes/node-state';
import { loadConfig } from '../../src/adapters/config/config';
import { ConfigError } from '../../src/adapters/config/config-error';

const T = { staleSeconds: 120, offlineSeconds: 300, deregisterSeconds: 3600 };
const NOW = 1_764_000_000_000;
const silentFor = (seconds: number) => NOW - seconds * 1000;

describe('liveness: silence ladder', () => {
  it('maps silence to the state it calls for', () => {
    assert.equal(stateForSilence(0, T), null);
    assert.equal(stateForSilence(119.9, T), null);
    assert.equal(stateForSilence(120, T), 'STALE');
    assert.equal(stateForSilence(299, T), 'STALE');
    assert.equal(stateForSilence(300, T), 'OFFLINE');
    assert.equal(stateForSilence(3599, T), 'OFFLINE');
    assert.equal(stateForSilence(3600, T), 'DEREGISTERED');
  });

  it('moves a silent ACTIVE node to STALE, then OFFLINE, then DEREGISTERED', () => {
    assert.equal(livenessTransition('ACTIVE', silentFor(30), NOW, T), null);
    assert.equal(livenessTransition('ACTIVE', silentFor(121), NOW, T), 'STALE');
    assert.equal(livenessTransition('STALE', silentFor(200), NOW, T), null);
    assert.equal(livenessTransition('STALE', silentFor(301), NOW, T), 'OFFLINE');
    assert.equal(livenessTransition('OFFLINE', silentFor(1000), NOW, T), null);
    assert.equal(livenessTransition('OFFLINE', silentFor(3601), NOW, T), 'DEREGISTERED');
  });

  it('skips steps when the silence is already longer (e.g. after a control plane outage)', () => {
    assert.equal(livenessTransition('ACTIVE', silentFor(400), NOW, T), 'OFFLINE');
    assert.equal(livenessTransition('ACTIVE', silentFor(7200), NOW, T), 'DEREGISTERED');
  });

  it('applies to PENDING (never heartbeated) and DRAINING nodes too', () => {
    assert.equal(livenessTransition('PENDING', silentFor(121), NOW, T), 'STALE');
    assert.equal(livenessTransition('DRAINING', silentFor(301), NOW, T), 'OFFLINE');
  });

  it('never moves a node back up, and never touches a deregistered one', () => {
    assert.equal(livenessTransition('OFFLINE', silentFor(130), NOW, T), null);
    assert.equal(livenessTransition('STALE', silentFor(10), NOW, T), null);
    assert.equal(livenessTransition('DEREGISTERED', silentFor(99999), NOW, T), null);
  });

  it('treats a heartbeat stamped in the future as no silence', () => {
    assert.equal(livenessTransition('ACTIVE', NOW + 60_000, NOW, T), null);
  });

  it('works with the short thresholds tests use', () => {
    const short = { staleSeconds: 2, offlineSeconds: 4, deregisterSeconds: 3600 };
    assert.equal(livenessTransition('ACTIVE', silentFor(2.1), NOW, short), 'STALE');
    assert.equal(livenessTransition('STALE', silentFor(4.1), NOW, short), 'OFFLINE');
  });
});

describe('liveness: heartbeats and admin actions', () => {
  it('a heartbeat brings PENDING, STALE and OFFLINE nodes back to ACTIVE', () => {
    for (const state of ['PENDING', 'STALE', 'OFFLINE'] as NodeState[]) assert.equal(stateAfterHeartbeat(state, false), 'ACTIVE', state);
    assert.equal(stateAfterHeartbeat('ACTIVE', false), 'ACTIVE');
  });

  it('a drained node comes back DRAINING, and stays DRAINING while it heartbeats', () => {
    assert.equal(stateAfterHeartbeat('STALE', true), 'DRAINING');
    assert.equal(stateAfterHeartbeat('OFFLINE', true), 'DRAINING');
    assert.equal(stateAfterHeartbeat('DRAINING', true), 'DRAINING');
  });

  it('a deregistered node cannot come back by heartbeat', () => {
    assert.equal(stateAfterHeartbeat('DEREGISTERED', false), null);
  });

  it('drain and resume', () => {
    assert.equal(stateAfterDrain('ACTIVE'), 'DRAINING');
    assert.equal(stateAfterDrain('PENDING'), 'DRAINING');
    assert.equal(stateAfterDrain('DRAINING'), 'DRAINING');
    assert.equal(stateAfterDrain('STALE'), 'STALE');
    assert.equal(stateAfterDrain('DEREGISTERED'), null);
    assert.equal(stateAfterResume('DRAINING'), 'ACTIVE');
    assert.equal(stateAfterResume('ACTIVE'), 'ACTIVE');
    assert.equal(stateAfterResume('OFFLINE'), 'OFFLINE');
    assert.equal(stateAfterResume('DEREGISTERED'), null);
  });

  it('knows every chain state', () => {
    assert.deepEqual([...NODE_STATES], ['PENDING', 'ACTIVE', 'DRAINING', 'STALE', 'OFFLINE', 'DEREGISTERED']);
  });
});

describe('liveness: configuration', () => {
  let dir: string;
  let islandsFile: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'archipelago-liveness-test-'));
    writeFileSync(join(dir, 'jwt.key'), 'jwt-secret-bytes');
    islandsFile = join(dir, 'islands.json');
    writeFileSync(
      islandsFile,
      JSON.stringify({
        islands: [{ name: 'island-a', rest: { url: 'http://127.0.0.1:7820', jwtKeyFile: join(dir, 'jwt.key') }, partitions: ['debug'] }],
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const env = (over: Record<string, string>) => ({ ARCHIPELAGO_ISLANDS_FILE: islandsFile, ...over });

  it('defaults to 30 s heartbeats, 120 s stale, 300 s offline, 3600 s deregister', () => {
    const nodes = loadConfig(env({})).nodes;
    assert.equal(nodes.heartbeatSeconds, 30);
    assert.equal(nodes.staleSeconds, 120);
    assert.equal(nodes.offlineSeconds, 300);
    assert.equal(nodes.deregisterSeconds, 3600);
  });

  it('reads the thresholds from the environment', () => {
    const nodes = loadConfig(
      env({
        ARCHIPELAGO_NODE_HEARTBEAT_SECONDS: '1',
        ARCHIPELAGO_NODE_STALE_SECONDS: '2',
        ARCHIPELAGO_NODE_OFFLINE_SECONDS: '4',
        ARCHIPELAGO_NODE_DEREGISTER_SECONDS: '60',
      }),
    ).nodes;
    assert.deepEqual([nodes.heartbeatSeconds, nodes.staleSeconds, nodes.offlineSeconds, nodes.deregisterSeconds], [1, 2, 4, 60]);
  });

  it('refuses thresholds out of order, and heartbeats slower than staleness', () => {
    const refused = (over: Record<string, string>, variable: string) =>
      assert.throws(
        () => loadConfig(env(over)),
        (e: unknown) => e instanceof ConfigError && e.variable === variable,
      );
    refused({ ARCHIPELAGO_NODE_STALE_SECONDS: '300' }, 'ARCHIPELAGO_NODE_OFFLINE_SECONDS');
    refused({ ARCHIPELAGO_NODE_DEREGISTER_SECONDS: '300' }, 'ARCHIPELAGO_NODE_DEREGISTER_SECONDS');
    refused({ ARCHIPELAGO_NODE_HEARTBEAT_SECONDS: '120' }, 'ARCHIPELAGO_NODE_HEARTBEAT_SECONDS');
    refused({ ARCHIPELAGO_NODE_STALE_SECONDS: 'soon' }, 'ARCHIPELAGO_NODE_STALE_SECONDS');
    refused({ ARCHIPELAGO_NODE_STALE_SECONDS: '0' }, 'ARCHIPELAGO_NODE_STALE_SECONDS');
  });
});
