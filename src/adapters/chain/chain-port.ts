import type { EncodeObject } from '@cosmjs/proto-signing';
import type { DeliverTxResponse } from '@cosmjs/stargate';
import type { StoredHpcJob, StoredHpcReward } from './hpc-job-store';
import type { StoredIdentityScore } from './veid-score-store';
import type { QueryAuthorizationSessionResponse, QueryMFARequiredResponse, QueryTrustedDeviceResponse, SensitiveTransactionType } from './generated/virtengine';

/*
 * What the chain features depend on: the client's token, what it answers and how it fails. The
 * client itself (chain-client.ts) pulls in cosmjs, some 290 modules, so it is loaded only where a
 * chain is configured (chain.module.ts).
 */

/** The chain could not be asked (connection refused, timeout, 5xx): the answer is unknown. */
export class ChainUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainUnavailableError';
  }
}

/** The chain answered and refused (non-zero ABCI code): the answer is known and negative. */
export class ChainQueryError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ChainQueryError';
  }
}

/**
 * A transaction was accepted into the mempool (it has a hash) but not yet seen in a block. It may
 * still land: look it up by `hash` before sending the same messages again, or they run twice.
 */
export class TxUnconfirmedError extends ChainUnavailableError {
  constructor(
    readonly hash: string,
    message: string,
  ) {
    super(message);
    this.name = 'TxUnconfirmedError';
  }
}

/** The chain's minimum gas price is above our ceiling (CHAIN_GAS_PRICE_MAX): nothing is signed until it falls. */
export class GasPriceAboveCeilingError extends ChainUnavailableError {
  constructor(
    readonly chainMinimum: string,
    readonly ceiling: string,
  ) {
    super(`the chain's minimum gas price ${chainMinimum} is above CHAIN_GAS_PRICE_MAX ${ceiling}: transactions wait until it falls`);
    this.name = 'GasPriceAboveCeilingError';
  }
}

/** The node we reached is not on the chain we are configured for; nothing is signed for it. */
export class WrongChainError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`the RPC node serves chain "${actual}", not the configured "${expected}"`);
    this.name = 'WrongChainError';
  }
}

/** What every chain feature reads. One implementation talks to CometBFT RPC; tests point it at the fake. */
export interface ChainQueries {
  /** The score x/veid keeps for `address` (read from its store), or null when it keeps none. */
  identityScore(address: string): Promise<StoredIdentityScore | null>;
  mfaSession(sessionId: string): Promise<QueryAuthorizationSessionResponse>;
  mfaRequired(address: string, transactionType: SensitiveTransactionType): Promise<QueryMFARequiredResponse>;
  trustedDevice(address: string, deviceFingerprint: string): Promise<QueryTrustedDeviceResponse>;
  /** The job x/hpc stores under `jobId` (read from its store: Query/Job is not implemented), or null. */
  hpcJob(jobId: string): Promise<StoredHpcJob | null>;
  /** Every job x/hpc stores (one `/subspace` read of its job prefix: Query/Jobs is not implemented). */
  hpcJobs(): Promise<StoredHpcJob[]>;
  /** Every reward record x/hpc stores (one `/subspace` read of its reward prefix; there is no query for them). */
  hpcRewards(): Promise<StoredHpcReward[]>;
}

/** Whether x/hpc's job records could be read the last time they were asked for (null: not asked yet). */
export interface JobRecordsHealth {
  readable: boolean | null;
  detail: string;
}

/**
 * Signs and broadcasts as one account over the client's connection (chain id checked when
 * created). `broadcast` + `confirm` let a caller record the hash before waiting (an outbox);
 * `signAndBroadcast` does both.
 */
export interface ChainSigner {
  readonly address: string;
  /**
   * Simulates (gas × multiplier → fee) and signs at `sequence` (the account's committed next one
   * when omitted); nothing is sent, so the hash can be journaled first.
   */
  prepare(messages: EncodeObject[], memo?: string, sequence?: number): Promise<PreparedTx>;
  /** Hands signed bytes to the node (CheckTx). The same bytes sent twice land at most once (their sequence). */
  submit(txBytes: Uint8Array): Promise<string>;
  /** The account's next sequence as committed on chain. */
  committedSequence(): Promise<number>;
  /** The height of the latest committed block. */
  latestHeight(): Promise<number>;
  /** A transaction by hash (tx search), or null when no block holds it. */
  findTx(hash: string): Promise<DeliverTxResponse | null>;
  /** Simulates, signs and hands the transaction to the node; its hash once the node accepted it. */
  broadcast(messages: EncodeObject[], memo?: string): Promise<string>;
  /** The result of a broadcast transaction once in a block (success or not); TxUnconfirmedError after `timeoutMs`. */
  confirm(hash: string, timeoutMs?: number): Promise<DeliverTxResponse>;
  signAndBroadcast(messages: EncodeObject[], memo?: string): Promise<DeliverTxResponse>;
}

/** A signed transaction not yet sent: its hash is known before the node sees it. */
export interface PreparedTx {
  hash: string;
  txBytes: Uint8Array;
  sequence: number;
  gasLimit: number;
}

/** The Nest injection token for the shared client (null when no chain is configured). */
export const CHAIN_CLIENT = Symbol('CHAIN_CLIENT');
