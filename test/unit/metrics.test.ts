import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DomainMetrics } from '../../src/features/metrics/domain-metrics';
import { Metrics } from '../../src/adapters/metrics/metrics';
import { bearerMatches } from '../../src/features/metrics/scrape-token';

const REPO = join(__dirname, '../../..');

describe('metrics', () => {
  it('the Grafana dashboard only queries metrics the control plane exports', () => {
    const metrics = new Metrics();
    // Registers the database-backed gauges; nothing is read until a scrape.
    new DomainMetrics({} as never, {} as never, {} as never, {} as never, metrics);
    const dashboard = readFileSync(join(REPO, 'docs/grafana/archipelago.json'), 'utf8');
    const used = new Set([...dashboard.matchAll(/\b((?:archipelago|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]));
    assert.ok(used.size >= 10, `the dashboard uses ${used.size} metrics`);
    for (const name of used) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      assert.ok(metrics.registry.getSingleMetric(name) ?? metrics.registry.getSingleMetric(base), `${name} is exported`);
    }
  });

  it('scrape tokens are compared exactly', () => {
    assert.equal(bearerMatches('Bearer s3cret', 's3cret'), true);
    assert.equal(bearerMatches('Bearer s3cre', 's3cret'), false);
    assert.equal(bearerMatches('bearer s3cret', 's3cret'), false);
    assert.equal(bearerMatches(undefined, 's3cret'), false);
  });
});
