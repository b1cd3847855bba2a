import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../src/adapters/metrics/metrics';
import type { JobStats, NodeHeartbeats, UsageOutboxStats } from '../../src/core/common/domain-stats';
import type { CapacitySource } from '../../src/core/placement/capacity-source';
import { DomainMetrics } from '../../src/features/metrics/domain-metrics';

/** The owners' named queries as fakes: what a scrape shows is what they answer. */
function setUp() {
  let jobReads = 0;
  const jobs: JobStats = {
    countsByStateAndIsland: async () => {
      jobReads++;
      return [
        { state: 'RUNNING', island: 'local-a', count: 3 },
        { state: 'ACCEPTED', island: '', count: 2 },
      ];
    },
    dispatchBacklog: async () => ({ depth: 2, oldestAgeSeconds: 7.5 }),
  };
  const nodes: NodeHeartbeats = { heartbeatAges: async () => [{ name: 'n1', island: 'isl-1', state: 'ACTIVE', ageSeconds: 4 }] };
  const outbox: UsageOutboxStats = {
    outboxByStatus: async () => [
      { status: 'PENDING', count: 5, oldestAgeSeconds: 30 },
      { status: 'COMMITTED', count: 9, oldestAgeSeconds: 600 },
    ],
  };
  const capacity = { view: async () => ({ snapshot: { islands: [] }, unknown: [] }) } as unknown as CapacitySource;
  const metrics = new Metrics();
  new DomainMetrics(jobs, nodes, outbox, capacity, metrics);
  return { metrics, reads: () => jobReads };
}

describe('DomainMetrics (owners answering through ports)', () => {
  it('a scrape shows jobs, backlog, node heartbeats and the usage outbox as their owners report them', async () => {
    const { metrics } = setUp();
    const text = await metrics.registry.metrics();
    assert.match(text, /^archipelago_jobs\{state="RUNNING",island="local-a"\} 3$/m);
    assert.match(text, /^archipelago_queue_depth\{queue="dispatch"\} 2$/m);
    assert.match(text, /^archipelago_queue_oldest_age_seconds\{queue="dispatch"\} 7.5$/m);
    assert.match(text, /^archipelago_node_heartbeat_age_seconds\{node="n1",island="isl-1",state="ACTIVE"\} 4$/m);
    assert.match(text, /^archipelago_usage_outbox\{status="PENDING"\} 5$/m);
    // only PENDING and BROADCAST wait for the chain
    assert.match(text, /^archipelago_usage_outbox_oldest_age_seconds 30$/m);
  });

  it('asks the owners once per cache period however many gauges and scrapes there are', async () => {
    const { metrics, reads } = setUp();
    await metrics.registry.metrics();
    await metrics.registry.metrics();
    assert.equal(reads(), 1);
  });
});
