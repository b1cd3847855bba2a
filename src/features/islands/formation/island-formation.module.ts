import { Module } from '@nestjs/common';
import type { AppConfig } from '../../../adapters/config/config';
import { APP_CONFIG } from '../../../adapters/config/config.module';
import { ISLAND_LAUNCHER, IslandLauncher } from '../../../core/islands/island-launcher.port';
import { LocalIslandLauncher } from '../../../adapters/local-islands/local-island-launcher';
import { IslandFormationService } from './island-formation.service';

async function launcherFor(config: AppConfig): Promise<IslandLauncher> {
  switch (config.topology.launcher) {
    case 'local':
      return new LocalIslandLauncher(config.topology.localSlots);
    case 'kubernetes': {
      // Loaded only here: the Kubernetes client alone took about a second of every process's start.
      const { KubeConfig } = await import('@kubernetes/client-node');
      const { createKubernetesIslandLauncher } = await import('../../../adapters/kube/kubernetes-island-launcher');
      // KUBECONFIG when set, else the pod's service account (in-cluster).
      const kc = new KubeConfig();
      kc.loadFromDefault();
      return createKubernetesIslandLauncher(kc, config.topology.kubernetes!);
    }
    default:
      throw new Error(`ARCHIPELAGO_ISLAND_LAUNCHER=${config.topology.launcher} names no launcher`);
  }
}

/** Worker role, when a launcher is configured: latency groups become SLURM clusters. */
@Module({
  providers: [IslandFormationService, { provide: ISLAND_LAUNCHER, inject: [APP_CONFIG], useFactory: launcherFor }],
})
export class IslandFormationModule {}
