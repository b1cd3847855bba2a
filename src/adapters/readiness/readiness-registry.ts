import { Injectable } from '@nestjs/common';

/** One dependency readiness depends on: `probe` resolves when it answers, throws (with a reason) when not. */
export interface ReadinessCheck {
  /** The key in the readiness report, e.g. `chain`. */
  name: string;
  probe(): Promise<void>;
  /** Reported in the readiness answer but not deciding it (a degradation the operator chose to accept). */
  advisory?: boolean;
}

/**
 * Where modules add their own dependencies to readiness, without the health module knowing
 * them: the dispatch queue registers `redis`, the chain client a `chain` check when a chain is
 * configured. PostgreSQL and the islands are built in.
 */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(check: ReadinessCheck): void {
    if (['postgres', 'islands'].includes(check.name) || this.checks.has(check.name)) {
      throw new Error(`a readiness check named ${check.name} already exists`);
    }
    this.checks.set(check.name, check);
  }

  all(): ReadinessCheck[] {
    return [...this.checks.values()];
  }
}
