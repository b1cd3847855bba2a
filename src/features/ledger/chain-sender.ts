import type { EncodeObject } from '@cosmjs/proto-signing';
import type { DeliverTxResponse } from '@cosmjs/stargate';
import { ChainQueryError, ChainUnavailableError, type ChainSigner, type PreparedTx } from '../../adapters/chain/chain-port';
import type { TxStore } from './chain-txs.repository';

/** One outbox entry's messages: they travel in the same transaction, in order. */
export interface SendItem {
  key: string;
  messages: EncodeObject[];
}

export interface MsgResponse {
  typeUrl: string;
  value: Uint8Array;
}

export type SendOutcome =
  /** In a block; `responses` are this item's message responses, in order. */
  | { kind: 'committed'; txHash: string; responses: MsgResponse[] }
  /** Handed to the node, not seen in a block yet: confirm by hash later. */
  | { kind: 'broadcast'; txHash: string }
  /** The chain refused this item's message (its reason). */
  | { kind: 'rejected'; reason: string }
  /** Nothing is known to have happened: try again later. */
  | { kind: 'retry'; reason: string };

/** What became of a journaled transaction (looked up by hash). */
export type Resolution =
  | { kind: 'committed'; responses: MsgResponse[] }
  /** It cannot land any more (refused, failed in its block, or its sequence went to another): build its entries again. */
  | { kind: 'dead'; reason: string }
  /** It may still land: wait. */
  | { kind: 'pending' };

/** Called with the items and the signed transaction BEFORE the node sees it (after the tx itself is in chain_txs). */
export type BeforeBroadcast = (keys: string[], tx: PreparedTx) => Promise<void>;

export interface SenderOptions {
  maxMessagesPerTx: number;
  maxGasPerTx: number;
  memo: string;
  /** Transactions of our account per block at most (VirtEngine's ante RateLimitDecorator allows 10). */
  maxTxsPerBlock?: number;
  /** How often the latest block height is asked for while waiting for the next block. */
  blockPollMs?: number;
}

/** app/types/rate_limit.go DefaultMaxTxPerBlockPerAccount. */
export const CHAIN_MAX_TXS_PER_BLOCK = 10;
/** A block that does not come within this long: the items wait for the next send (journaled ones are resolved by hash). */
const NEXT_BLOCK_WAIT_MS = 30_000;
/** The RateLimitDecorator's ErrAccountRateLimited (codespace ratelimit): refused in CheckTx, so in no mempool. */
const ACCOUNT_RATE_LIMITED = /account rate limited/;

/** The SDK's "failed to execute message; message index: N" (simulation and DeliverTx). */
export function failedMessageIndex(log: string): number | null {
  const match = /message index: (\d+)/.exec(log);
  return match ? Number(match[1]) : null;
}

function expectedSequence(log: string): number | null {
  const match = /account sequence mismatch, expected (\d+)/.exec(log);
  return match ? Number(match[1]) : null;
}

const SEQUENCE_MISMATCH = 32;
const MAX_SEQUENCE_RETRIES = 3;

/**
 * Packs outbox items into transactions and sends them, at most once. For each transaction: many
 * items (≤ maxMessagesPerTx messages; halved while simulated gas × multiplier exceeds maxGasPerTx),
 * simulate → fee, sign at our own next sequence, journal (chain_txs + the caller's outbox), THEN
 * send, then one look by hash. A message the simulation refuses ("message index: N") is rejected
 * and the rest re-packed; a sequence mismatch re-reads the expected sequence and re-signs (the
 * refused transaction never entered a mempool); a node that cannot be reached leaves the last
 * transaction "broadcast" (maybe landed, maybe not) and everything after it untouched.
 */
export class ChainSender {
  private nextSequence: number | null = null;
  /** Our transactions handed to the node since the block at `height` (they go into the next). */
  private sentSince = { height: -1, count: 0 };
  /** The usage reporter and the provider daemon share one sender (one account, one sequence): one send at a time. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly signer: ChainSigner,
    private readonly txs: TxStore,
    private readonly options: SenderOptions,
  ) {}

  get address(): string {
    return this.signer.address;
  }

  /**
   * What became of a journaled transaction. The committed sequence is read BEFORE the search: if
   * the transaction lands in between, the search sees it; read after, a sequence moved on by this
   * very transaction would look like "its sequence went to another" and its entries would be sent
   * twice.
   */
  async resolve(hash: string): Promise<Resolution> {
    const committed = await this.signer.committedSequence();
    const found = await this.signer.findTx(hash);
    if (found)
      return found.code === 0 ? { kind: 'committed', responses: found.msgResponses ?? [] } : { kind: 'dead', reason: found.rawLog ?? `code ${found.code}` };
    const journaled = await this.txs.find(hash);
    if (!journaled) return { kind: 'dead', reason: `transaction ${hash} was never sent` };
    if (committed > journaled.sequence) return { kind: 'dead', reason: `sequence ${journaled.sequence} was used by another transaction` };
    if (committed === journaled.sequence) {
      // Not in a block and its sequence is next: the same bytes again (a mempool that lost it takes
      // them; one that has them refuses a duplicate). They can land only once.
      try {
        await this.signer.submit(journaled.txBytes);
      } catch (error) {
        if (error instanceof ChainQueryError) return { kind: 'dead', reason: error.message };
      }
    }
    return { kind: 'pending' };
  }

  send(items: SendItem[], beforeBroadcast: BeforeBroadcast): Promise<Map<string, SendOutcome>> {
    const mine = this.turn.then(() => this.sendNow(items, beforeBroadcast));
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async sendNow(items: SendItem[], beforeBroadcast: BeforeBroadcast): Promise<Map<string, SendOutcome>> {
    const outcomes = new Map<string, SendOutcome>();
    const queue = items.filter((item) => item.messages.length > 0);
    const sent: Array<{ tx: PreparedTx; batch: SendItem[] }> = [];
    let itemLimit = Infinity;
    let sequenceRetries = 0;
    const giveUp = (batch: SendItem[], reason: string) => {
      for (const item of [...batch, ...queue.splice(0)]) outcomes.set(item.key, { kind: 'retry', reason });
    };
    while (queue.length > 0) {
      try {
        await this.blockRoom();
      } catch (error) {
        if (!(error instanceof ChainUnavailableError)) throw error;
        giveUp([], error.message);
        break;
      }
      const batch = this.takeBatch(queue, itemLimit);
      let tx: PreparedTx;
      try {
        tx = await this.signer.prepare(
          batch.flatMap((item) => item.messages),
          this.options.memo,
          this.nextSequence ?? undefined,
        );
      } catch (error) {
        if (!(error instanceof ChainQueryError || error instanceof ChainUnavailableError)) throw error;
        const message = error.message;
        const index = error instanceof ChainQueryError ? failedMessageIndex(message) : null;
        if (index !== null) {
          const guilty = itemOfMessage(batch, index);
          outcomes.set(guilty.key, { kind: 'rejected', reason: message });
          queue.unshift(...batch.filter((item) => item !== guilty));
          continue;
        }
        giveUp(batch, message);
        break;
      }
      if (tx.gasLimit > this.options.maxGasPerTx) {
        if (batch.length === 1) {
          outcomes.set(batch[0].key, { kind: 'rejected', reason: `needs ${tx.gasLimit} gas, more than a transaction may use (${this.options.maxGasPerTx})` });
        } else {
          itemLimit = Math.ceil(batch.length / 2);
          queue.unshift(...batch);
        }
        continue;
      }
      await this.txs.save(
        tx,
        batch.reduce((n, item) => n + item.messages.length, 0),
      );
      await beforeBroadcast(
        batch.map((item) => item.key),
        tx,
      );
      try {
        await this.submitWithinRate(tx.txBytes);
      } catch (error) {
        const message = (error as Error).message;
        if (!(error instanceof ChainQueryError || error instanceof ChainUnavailableError)) throw error;
        if (error instanceof ChainUnavailableError) {
          // Unknown whether the node took it: it is journaled, so it is confirmed or found dead later.
          for (const item of batch) outcomes.set(item.key, { kind: 'broadcast', txHash: tx.hash });
          giveUp([], message);
          break;
        }
        if (error.code === SEQUENCE_MISMATCH && sequenceRetries++ < MAX_SEQUENCE_RETRIES) {
          // Refused in CheckTx, so in no mempool: signing the same items again cannot duplicate them.
          this.nextSequence = expectedSequence(message);
          queue.unshift(...batch);
          continue;
        }
        this.nextSequence = null;
        giveUp(batch, message);
        break;
      }
      this.nextSequence = tx.sequence + 1;
      this.sentSince.count += 1;
      sent.push({ tx, batch });
    }
    await Promise.all(sent.map(({ tx, batch }) => this.lookOnce(tx.hash, batch, outcomes)));
    return outcomes;
  }

  /**
   * Waits, when we already handed the node `maxTxsPerBlock` transactions since the latest block,
   * for the next block: the chain refuses an account's 11th transaction in a block
   * (RateLimitDecorator), so reporting is spread over blocks instead.
   */
  private async blockRoom(): Promise<void> {
    const limit = this.options.maxTxsPerBlock ?? CHAIN_MAX_TXS_PER_BLOCK;
    const height = await this.signer.latestHeight();
    if (height !== this.sentSince.height) this.sentSince = { height, count: 0 };
    if (this.sentSince.count >= limit) await this.nextBlock(height);
  }

  /** Resolves once a block after `height` is committed; ChainUnavailableError after NEXT_BLOCK_WAIT_MS. */
  private async nextBlock(height: number): Promise<void> {
    const deadline = Date.now() + NEXT_BLOCK_WAIT_MS;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, this.options.blockPollMs ?? 500));
      const now = await this.signer.latestHeight();
      if (now > height) {
        this.sentSince = { height: now, count: 0 };
        return;
      }
      if (Date.now() > deadline) throw new ChainUnavailableError(`no block after ${height} within ${NEXT_BLOCK_WAIT_MS} ms`);
    }
  }

  /** Hands the bytes over; refused for the per-block rate (someone else used our account's room), once more after the next block. */
  private async submitWithinRate(txBytes: Uint8Array): Promise<void> {
    try {
      await this.signer.submit(txBytes);
    } catch (error) {
      if (!(error instanceof ChainQueryError) || !ACCOUNT_RATE_LIMITED.test(error.message)) throw error;
      await this.nextBlock(await this.signer.latestHeight());
      await this.signer.submit(txBytes);
    }
  }

  /** One look for a sent transaction; not there yet is "broadcast" (the outbox asks again). */
  private async lookOnce(hash: string, batch: SendItem[], outcomes: Map<string, SendOutcome>): Promise<void> {
    let found: DeliverTxResponse | null = null;
    try {
      found = await this.signer.findTx(hash);
    } catch {
      // the node went away after taking the transaction: confirmed later
    }
    if (!found) {
      for (const item of batch) outcomes.set(item.key, { kind: 'broadcast', txHash: hash });
      return;
    }
    if (found.code === 0) {
      let offset = 0;
      for (const item of batch) {
        outcomes.set(item.key, { kind: 'committed', txHash: hash, responses: (found.msgResponses ?? []).slice(offset, offset + item.messages.length) });
        offset += item.messages.length;
      }
      return;
    }
    // Failed in its block: nothing of it applied. The guilty item is rejected; the others are
    // built again on their next offer (their journaled transaction is dead).
    const index = failedMessageIndex(found.rawLog ?? '');
    const guilty = index === null ? null : itemOfMessage(batch, index);
    for (const item of batch) {
      outcomes.set(
        item.key,
        item === guilty ? { kind: 'rejected', reason: found.rawLog ?? '' } : { kind: 'retry', reason: `transaction ${hash} failed: ${found.rawLog}` },
      );
    }
    if (index === null) this.nextSequence = null;
  }

  private takeBatch(queue: SendItem[], itemLimit: number): SendItem[] {
    const batch: SendItem[] = [];
    let messages = 0;
    while (queue.length > 0 && batch.length < itemLimit) {
      const next = queue[0].messages.length;
      if (batch.length > 0 && messages + next > this.options.maxMessagesPerTx) break;
      batch.push(queue.shift()!);
      messages += next;
    }
    return batch;
  }
}

function itemOfMessage(batch: SendItem[], index: number): SendItem {
  let offset = 0;
  for (const item of batch) {
    offset += item.messages.length;
    if (index < offset) return item;
  }
  return batch[batch.length - 1];
}
