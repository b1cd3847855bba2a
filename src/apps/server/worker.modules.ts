import type { AppConfig } from '../../adapters/config/config';
import { DispatchWorkerModule } from '../../features/jobs/dispatch/dispatch-worker.module';
import { LedgerModule } from '../../features/ledger/ledger.module';
import { LivenessModule } from '../../features/nodes/liveness.module';
import { UsageWorkerModule } from '../../features/usage/usage-worker.module';
import { IslandFormationModule } from '../../features/islands/formation/island-formation.module';

/** What the worker role adds: dispatch and following, node liveness, usage accounting, the chain ledger, and island formation when it launches islands. */
export function workerModules(config: AppConfig) {
  return [DispatchWorkerModule, LivenessModule, UsageWorkerModule, LedgerModule, ...(config.topology.launcher !== 'none' ? [IslandFormationModule] : [])];
}
