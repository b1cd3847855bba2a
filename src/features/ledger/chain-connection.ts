import type { AppConfig } from '../../adapters/config/config';
import type { VirtEngineChainClient } from '../../adapters/chain/chain-client';
import { directWallet } from '../../adapters/chain/chain-wallet';
import type { DataSource } from 'typeorm';
import { ChainSender } from './chain-sender';
import { TxStore } from './chain-txs.repository';

/**
 * The provider account's ChainSender, made on first use and kept: its next sequence lives in it,
 * so every reporter shares one. A failure (chain down, wrong chain id) is not kept: the next call
 * tries again.
 */
export class ChainConnection {
  private sender: Promise<ChainSender> | null = null;

  constructor(
    private readonly client: VirtEngineChainClient,
    private readonly config: Pick<AppConfig, 'chain' | 'ledger'>,
    private readonly db: DataSource,
  ) {}

  get(): Promise<ChainSender> {
    if (!this.sender) {
      this.sender = this.open();
      this.sender.catch(() => (this.sender = null));
    }
    return this.sender;
  }

  private async open(): Promise<ChainSender> {
    const { providerKey, maxMessagesPerTx, maxGasPerTx, maxTxsPerBlock } = this.config.ledger;
    if (!providerKey) throw new Error('CHAIN_PROVIDER_KEY_FILE is not set');
    const signer = await this.client.signer(await directWallet(providerKey, this.config.chain.bech32Prefix));
    return new ChainSender(signer, new TxStore(this.db), {
      maxMessagesPerTx,
      maxGasPerTx,
      maxTxsPerBlock,
      memo: 'archipelago',
      blockPollMs: this.config.chain.broadcastPollMs,
    });
  }
}
