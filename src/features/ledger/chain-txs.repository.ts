import type { DataSource } from 'typeorm';
import type { PreparedTx } from '../../adapters/chain/chain-port';

export interface JournaledTx {
  sequence: number;
  txBytes: Uint8Array;
}

/** `chain_txs`: every signed transaction, written before it is sent (see the Ledger migration). */
export class TxStore {
  constructor(private readonly db: DataSource) {}

  async save(tx: PreparedTx, messages: number): Promise<void> {
    await this.db.query('INSERT INTO chain_txs (hash, tx_bytes, sequence, messages) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING', [
      tx.hash,
      Buffer.from(tx.txBytes),
      tx.sequence,
      messages,
    ]);
  }

  async find(hash: string): Promise<JournaledTx | null> {
    const [row] = await this.db.query('SELECT sequence, tx_bytes FROM chain_txs WHERE hash = $1', [hash.toUpperCase()]);
    return row ? { sequence: Number(row.sequence), txBytes: new Uint8Array(row.tx_bytes) } : null;
  }
}
