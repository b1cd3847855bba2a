import { Module } from '@nestjs/common';
import type { AppConfig } from '../../../adapters/config/config';
import { APP_CONFIG } from '../../../adapters/config/config.module';
import { ISLAND_LAUNCHER, IslandLauncher } from '../../../core/islands/island-launcher.port';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubernetesIslandLauncher } from '../../../adapters/kube/kubernetes-island-launcher';
import { LocalIslandLauncher } from '../../../adapters/local-islands/local-island-launcher';
import { IslandFormationService } from './island-formation.service';

function launcherFor(config: AppConfig): IslandLauncher {
  switch (config.topology.launcher) {
    case 'local':
      return new LocalIslandLauncher(config.topology.localSlots);
    case 'kubernetes': {
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
