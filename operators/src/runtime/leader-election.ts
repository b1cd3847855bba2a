import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';

/**
 * Lease-based leader election (client-node has none). Defaults are controller-runtime's: a 15 s lease,
 * renewed every 2 s, given up when it could not be renewed for 10 s. The holder writes renewTime as a
 * MicroTime with six fractional digits: the API server rejects Date#toISOString()'s three.
 */
export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  now?: () => Date;
}

export function microTime(at: Date): string {
  return at.toISOString().replace(/Z$/, '000Z');
}

function statusCode(e: unknown): number | undefined {
  return (e as { code?: number })?.code;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;
  private observed?: V1Lease;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly now: () => Date;

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly options: LeaderElectionOptions,
  ) {
    this.leaseMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? (() => new Date());
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) this.lastRenew = Date.now();
    } catch {
      // Network or server error: counts as a missed renewal.
    }
    if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) {
      this.leading = false;
      this.options.onStoppedLeading();
    } else if (!this.leading && Date.now() - this.lastRenew <= this.retryMs) {
      this.leading = true;
      this.options.onStartedLeading();
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.retryMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = this.now();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
      try {
        this.observed = await this.api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: this.spec(identity, now, now, 0),
          },
        });
        return true;
      } catch (err) {
        if (statusCode(err) === 409) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewedAt = spec.renewTime ? Date.parse(String(spec.renewTime)) : 0;
    const duration = (spec.leaseDurationSeconds ?? this.leaseMs / 1000) * 1000;
    const expired = renewedAt + duration < now.getTime();
    if (holder && holder !== identity && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    const acquired = holder === identity && spec.acquireTime ? String(spec.acquireTime) : microTime(now);
    try {
      this.observed = await this.api.replaceNamespacedLease({
        name,
        namespace,
        // resourceVersion makes a concurrent candidate's write a 409 instead of a second leader.
        body: { ...lease, spec: this.spec(identity, acquired, now, transitions) },
      });
      return true;
    } catch (e) {
      if (statusCode(e) === 409) return false;
      throw e;
    }
  }

  private spec(identity: string, acquired: Date | string, renewed: Date, transitions: number): V1Lease['spec'] {
    return {
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.leaseMs / 1000),
      // V1MicroTime is typed as Date but serialised as given: pass the six-digit string.
      acquireTime: (typeof acquired === 'string' ? acquired : microTime(acquired)) as unknown as Date,
      renewTime: microTime(renewed) as unknown as Date,
      leaseTransitions: transitions,
    };
  }

  /** Stops campaigning; a leader hands the lease over at once instead of letting it expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading || !this.observed) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.api.replaceNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: undefined,
            leaseDurationSeconds: 1,
            renewTime: microTime(this.now()) as unknown as Date,
            acquireTime: lease.spec?.acquireTime ? (String(lease.spec.acquireTime) as unknown as Date) : undefined,
          },
        },
      });
    } catch {
      // Best effort: the lease expires on its own.
    }
  }
}
