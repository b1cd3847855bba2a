import { repeatEvery } from '../../core/common/repeat';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { JoinTokensRepository } from './join-tokens.repository';
import { livenessTransition } from '../../core/nodes/node-state';
import { NodesRepository, SilentNode, Transition } from './nodes.repository';

const BATCH = 1000;
/** Expired nonces are purged about once in this many sweeps. */
const PURGE_EVERY = 720;

/**
 * Worker role: moves silent nodes down the ladder ACTIVE → STALE → OFFLINE → DEREGISTERED
 * (ARCHIPELAGO_NODE_STALE_SECONDS / _OFFLINE_SECONDS / _DEREGISTER_SECONDS). The decision is
 * livenessTransition's; every update re-checks the silence in PostgreSQL, so a heartbeat that
 * lands during a sweep always wins, and several workers sweeping at once do no harm.
 */
@Injectable()
export class LivenessService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LivenessService.name);
  private stop: (() => void) | null = null;
  private sweeps = 0;

  constructor(
    private readonly nodes: NodesRepository,
    private readonly tokens: JoinTokensRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.stop = repeatEvery(
      this.config.nodes.sweepIntervalMs,
      () => this.sweep(),
      (error) => this.logger.warn(`liveness sweep failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }

  /** One pass; returns how many nodes changed state. */
  async sweep(): Promise<number> {
    const t = this.config.nodes;
    let changed = 0;
    for (let round = 0; round < 100; round++) {
      const silent = await this.nodes.silent(t, BATCH);
      const transitions = silent.map((node) => this.decide(node)).filter((d): d is Transition => d !== null);
      const applied = await this.nodes.applyTransitions(transitions);
      for (const a of applied) this.logger.log(`node ${a.name} (${a.id}) -> ${a.state}: silent`);
      changed += applied.length;
      if (silent.length < BATCH || applied.length === 0) break;
    }
    if (++this.sweeps % PURGE_EVERY === 1) await this.tokens.purgeNonces();
    return changed;
  }

  private decide(node: SilentNode): Transition | null {
    const t = this.config.nodes;
    const to = livenessTransition(node.state, Number(node.seen_ms), Number(node.now_ms), t);
    if (!to) return null;
    const silentSeconds = to === 'DEREGISTERED' ? t.deregisterSeconds : to === 'OFFLINE' ? t.offlineSeconds : t.staleSeconds;
    return { id: node.id, from: node.state, to, silentSeconds };
  }
}
