import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CHAIN_CLIENT, VirtEngineChainClient } from './chain-client';

/**
 * The shared VirtEngine client, or null when CHAIN_RPC_URL is unset (the local stack then uses
 * the development identity file; see identity/). Global: identity gates and usage reporting use
 * the same client and its connection.
 */
@Global()
@Module({
  providers: [
    {
      provide: CHAIN_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        config.chain.rpcUrl ? new VirtEngineChainClient({ ...config.chain, rpcUrl: config.chain.rpcUrl }) : null,
    },
  ],
  exports: [CHAIN_CLIENT],
})
export class ChainModule implements OnApplicationShutdown {
  constructor(@Inject(CHAIN_CLIENT) private readonly chain: VirtEngineChainClient | null) {}

  onApplicationShutdown(): void {
    this.chain?.disconnect();
  }
}
