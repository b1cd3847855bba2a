import { pubkeyToAddress, Secp256k1Pubkey } from '@cosmjs/amino';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import { fromBase64, toHex } from '@cosmjs/encoding';
import { decodePubkey, makeSignBytes, makeSignDoc } from '@cosmjs/proto-signing';
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { AuthInfo, Tx, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { Any } from 'cosmjs-types/google/protobuf/any';

/** An ABCI refusal: the code, log and codespace a real node would answer with. */
export class Refusal extends Error {
  constructor(
    readonly code: number,
    readonly log: string,
    readonly codespace = 'sdk',
  ) {
    super(log);
  }
}

/** A refusal with one of x/hpc's registered errors (codespace "hpc"). */
export class HpcRefusal extends Refusal {
  constructor(code: number, log: string) {
    super(code, log, 'hpc');
  }
}

export const CODE = {
  TX_DECODE: 2,
  UNAUTHORIZED: 4,
  INSUFFICIENT_FUNDS: 5,
  UNKNOWN_REQUEST: 6,
  INVALID_PUBKEY: 8,
  UNKNOWN_ADDRESS: 9,
  MEMO_TOO_LARGE: 12,
  OUT_OF_GAS: 11,
  INVALID_REQUEST: 18,
  KEY_NOT_FOUND: 22,
  TX_TIMEOUT_HEIGHT: 30,
  WRONG_SEQUENCE: 32,
  INVALID_GAS_LIMIT: 41,
} as const;

export interface Account {
  address: string;
  accountNumber: number;
  sequence: number;
  /** Recorded from the first transaction the account signs, as the auth module does. */
  pubkey: Secp256k1Pubkey | null;
}

/** A message type the fake executes: who must sign it, what it checks, what it changes. */
export interface MsgHandler {
  decode(value: Uint8Array): unknown;
  signer(msg: unknown): string;
  /**
   * The message's ValidateBasic: stateless field checks baseapp runs in CheckTx, so a message
   * failing them is refused by broadcast_tx_sync and never reaches a block.
   */
  validateBasic?(msg: unknown): void;
  /** Throws a Refusal when the message would fail; must not change state. */
  check(msg: unknown, signer: string): void;
  /** Applies a checked message; returns the Msg response (type URL + bytes). */
  apply(msg: unknown): Any;
}

export interface IncludedTx {
  hash: string;
  height: number;
  index: number;
  tx: Uint8Array;
  code: number;
  log: string;
  codespace: string;
  data: Uint8Array;
  gasWanted: number;
  gasUsed: number;
}

/** sdk.LegacyDec text (18 decimals) of a test's price; 12 significant decimals keep float noise out. */
export const legacyDec = (n: number) => `${n.toFixed(12)}000000`;

const GAS_PER_TX = 60_000;
const GAS_PER_MSG = 25_000;
/** auth params tx_size_cost_per_byte. */
const GAS_PER_BYTE = 10;
const MAX_MEMO = 256;

/**
 * The auth/ante and block part of the fake chain: accounts with numbers and sequences, the
 * checks a Cosmos SDK ante handler makes before a transaction runs (decoding, known message
 * types, signer and public key, fee, sequence, SIGN_MODE_DIRECT signature over the SignDoc with
 * the chain id and account number), then one block per transaction.
 */
export class Ledger {
  readonly accounts = new Map<string, Account>();
  readonly txs: IncludedTx[] = [];
  readonly handlers = new Map<string, MsgHandler>();
  /** Takes a copy of module state and returns its restore: messages run one after another and a failure undoes them all. */
  snapshot: () => () => void = () => () => undefined;
  /** Module BeginBlockers, run at each new block's time before its transactions. */
  beginBlock: () => void = () => undefined;
  /** Module EndBlockers, run after each block's transactions. */
  endBlock: () => void = () => undefined;
  /** Consensus block max_gas (-1: unlimited): a transaction asking for more is refused in CheckTx. */
  maxBlockGas = -1;
  /** app/types/rate_limit.go DefaultMaxTxPerBlockPerAccount (RateLimitDecorator). */
  maxTxPerBlockPerAccount = 10;
  /**
   * false: every transaction makes its own block (the default, fast). true: transactions join the
   * open block until `closeBlock()` (FakeChain.produceBlocksEvery), as a real chain's blocks collect them.
   */
  batching = false;
  /** Transactions per signer in the open block (null: no block open). */
  private openBlock: Map<string, number> | null = null;
  height = 1;
  blockTime = new Date();
  private nextAccountNumber = 7;

  constructor(
    readonly chainId: string,
    readonly prefix: string,
    readonly feeDenom: string,
    /** The adaptive minimum fee per gas unit (app/gaspricing State.current_min_gas_prices); tests raise it. */
    public minGasPrice: number,
  ) {}

  /** An account exists once it has received funds; tests "fund" the ones that will sign. */
  fund(address: string): Account {
    let account = this.accounts.get(address);
    if (!account) {
      account = { address, accountNumber: this.nextAccountNumber++, sequence: 0, pubkey: null };
      this.accounts.set(address, account);
    }
    return account;
  }

  /** Simulate: the same checks minus the signature (cosmjs sends SIGN_MODE_UNSPECIFIED and no signature). */
  simulate(txBytes: Uint8Array): { gasUsed: number; msgResponses: Any[] } {
    const tx = Tx.decode(txBytes);
    const messages = tx.body?.messages ?? [];
    const signer = this.checkMessages(messages);
    const account = this.existing(signer);
    this.signerPubkey(tx.authInfo?.signerInfos[0]?.publicKey, account);
    const sequence = Number(tx.authInfo?.signerInfos[0]?.sequence ?? -1);
    this.checkSequence(account, sequence);
    // Simulation runs the messages on a throw-away copy of state, as the SDK's simulate does.
    const restore = this.snapshot();
    try {
      const msgResponses = this.execute(messages, signer);
      return { gasUsed: this.gasFor(messages.length, txBytes.length), msgResponses };
    } finally {
      restore();
    }
  }

  /** Runs messages in order, each seeing the ones before; throws the SDK's "message index" refusal. */
  private execute(messages: Any[], signer: string): Any[] {
    return messages.map((any, index) => {
      const handler = this.handlers.get(any.typeUrl)!;
      const msg = handler.decode(any.value);
      try {
        handler.check(msg, signer);
        return handler.apply(msg);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        throw new Refusal(error.code, `failed to execute message; message index: ${index}: ${error.log}`, error.codespace);
      }
    });
  }

  /** CheckTx + DeliverTx: refused transactions (thrown Refusal) never reach a block. */
  async broadcast(txBytes: Uint8Array): Promise<IncludedTx> {
    let raw, body, authInfo;
    try {
      raw = TxRaw.decode(txBytes);
      body = TxBody.decode(raw.bodyBytes);
      authInfo = AuthInfo.decode(raw.authInfoBytes);
    } catch (error) {
      throw new Refusal(CODE.TX_DECODE, `tx parse error: ${(error as Error).message}`);
    }
    const signatures = raw.signatures;
    if (body.memo.length > MAX_MEMO)
      throw new Refusal(CODE.MEMO_TOO_LARGE, `maximum number of characters is ${MAX_MEMO} but received ${body.memo.length} characters: memo too large`);
    if (body.timeoutHeight > 0n && body.timeoutHeight < BigInt(this.height + 1)) {
      throw new Refusal(CODE.TX_TIMEOUT_HEIGHT, `block height: ${this.height + 1}, timeout height: ${body.timeoutHeight}: tx timeout height`);
    }
    const signer = this.checkMessages(body.messages);
    this.rateLimit(signer);
    if (authInfo.signerInfos.length !== 1 || signatures.length !== 1) {
      throw new Refusal(
        CODE.UNAUTHORIZED,
        `wrong number of signers; expected 1, got ${authInfo.signerInfos.length} signer infos and ${signatures.length} signatures: unauthorized`,
      );
    }
    const info = authInfo.signerInfos[0];
    if (info.modeInfo?.single?.mode !== SignMode.SIGN_MODE_DIRECT) {
      throw new Refusal(CODE.UNAUTHORIZED, 'this chain double only implements SIGN_MODE_DIRECT: unauthorized');
    }
    const account = this.existing(signer);
    const pubkey = this.signerPubkey(info.publicKey, account);
    this.checkFee(authInfo.fee);
    const gasLimit = Number(authInfo.fee?.gasLimit ?? 0n);
    if (this.maxBlockGas > 0 && gasLimit > this.maxBlockGas) {
      throw new Refusal(CODE.INVALID_GAS_LIMIT, `tx gas limit ${gasLimit} exceeds block max gas ${this.maxBlockGas}: invalid gas limit`);
    }
    this.checkSequence(account, Number(info.sequence));
    const signBytes = makeSignBytes(makeSignDoc(raw.bodyBytes, raw.authInfoBytes, this.chainId, account.accountNumber));
    const signature = signatures[0];
    // Always awaited: in @cosmjs/crypto <= 0.32 verifySignature returns a Promise, which is truthy.
    const valid =
      signature.length === 64 && (await Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(signature), sha256(signBytes), fromBase64(pubkey.value)));
    if (!valid) {
      throw new Refusal(
        CODE.UNAUTHORIZED,
        `signature verification failed; please verify account number (${account.accountNumber}) and chain-id (${this.chainId}): unauthorized`,
      );
    }
    // Ante succeeded: the sequence is spent even if a message fails in DeliverTx.
    account.sequence += 1;
    account.pubkey = pubkey;
    const included: IncludedTx = {
      hash: toHex(sha256(txBytes)).toUpperCase(),
      height: this.height + 1,
      index: this.txs.filter((t) => t.height === this.height + 1).length,
      tx: txBytes,
      code: 0,
      log: '',
      codespace: '',
      data: new Uint8Array(),
      gasWanted: gasLimit,
      gasUsed: this.gasFor(body.messages.length, txBytes.length),
    };
    const restore = this.snapshot();
    try {
      if (included.gasUsed > gasLimit) {
        throw new Refusal(CODE.OUT_OF_GAS, `out of gas in location: txSize; gasWanted: ${gasLimit}, gasUsed: ${included.gasUsed}: out of gas`);
      }
      const msgResponses = this.execute(body.messages, signer);
      included.data = TxMsgData.encode(TxMsgData.fromPartial({ msgResponses })).finish();
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      restore();
      included.code = error.code;
      included.log = error.log;
      included.codespace = error.codespace;
    }
    this.txs.push(included);
    if (!this.batching) this.closeBlock();
    return included;
  }

  /** The block being filled (its BeginBlock runs when it opens at a new block time); returns its per-signer counts. */
  private open(): Map<string, number> {
    if (!this.openBlock) {
      this.blockTime = new Date(Math.max(Date.now(), this.blockTime.getTime() + 1));
      this.openBlock = new Map();
      this.beginBlock();
    }
    return this.openBlock;
  }

  /** Commits the open block (EndBlock), if any: its transactions' height becomes the latest. */
  closeBlock(): void {
    if (!this.openBlock) return;
    this.openBlock = null;
    this.height += 1;
    this.endBlock();
  }

  /**
   * VirtEngine's RateLimitDecorator (app/ante_ratelimit.go), counted per signer per block and
   * incremented once it passes (later ante failures still count); not run by simulation.
   */
  private rateLimit(signer: string): void {
    const counts = this.open();
    const current = counts.get(signer) ?? 0;
    if (current >= this.maxTxPerBlockPerAccount) {
      throw new Refusal(
        1,
        `account ${signer} has ${current} transactions in this block, limit is ${this.maxTxPerBlockPerAccount}: account rate limited: too many transactions in this block`,
        'ratelimit',
      );
    }
    counts.set(signer, current + 1);
  }

  /** A block with no transactions at `time` (later than the last block): the chain's clock moves on. */
  emptyBlock(time: Date): void {
    this.closeBlock();
    if (time.getTime() <= this.blockTime.getTime()) throw new Error(`block time ${time.toISOString()} is not after ${this.blockTime.toISOString()}`);
    this.height += 1;
    this.blockTime = time;
    this.beginBlock();
    this.endBlock();
  }

  findTx(hashHex: string): IncludedTx | undefined {
    return this.txs.find((t) => t.hash === hashHex.toUpperCase());
  }

  /** Every message must be known, and all must name the same signer (single-signer transactions). */
  private checkMessages(messages: Any[]): string {
    if (messages.length === 0) throw new Refusal(CODE.INVALID_REQUEST, 'must contain at least one message: invalid request');
    const signers = new Set<string>();
    for (const any of messages) {
      const handler = this.handlers.get(any.typeUrl);
      if (!handler) throw new Refusal(CODE.TX_DECODE, `unable to resolve type URL ${any.typeUrl}: tx parse error`);
      let msg;
      try {
        msg = handler.decode(any.value);
      } catch (error) {
        throw new Refusal(CODE.TX_DECODE, `${any.typeUrl}: ${(error as Error).message}: tx parse error`);
      }
      handler.validateBasic?.(msg);
      signers.add(handler.signer(msg));
    }
    if (signers.size !== 1) throw new Refusal(CODE.UNAUTHORIZED, `messages name ${signers.size} different signers; this chain double takes one: unauthorized`);
    return [...signers][0];
  }

  private existing(address: string): Account {
    const account = this.accounts.get(address);
    if (!account) throw new Refusal(CODE.UNKNOWN_ADDRESS, `account ${address} not found: unknown address`);
    return account;
  }

  private signerPubkey(any: Any | undefined, account: Account): Secp256k1Pubkey {
    const provided = any ? decodePubkey(any) : null;
    const pubkey = (provided ?? account.pubkey) as Secp256k1Pubkey | null;
    if (!pubkey || pubkey.type !== 'tendermint/PubKeySecp256k1') {
      throw new Refusal(CODE.INVALID_PUBKEY, 'a secp256k1 public key is required: invalid pubkey');
    }
    if (pubkeyToAddress(pubkey, this.prefix) !== account.address) {
      throw new Refusal(CODE.INVALID_PUBKEY, `pubKey does not match signer address ${account.address} with signer index: 0: invalid pubkey`);
    }
    return pubkey;
  }

  /**
   * VirtEngine's AdaptiveGasPriceDecorator (app/ante_gaspricing.go), before the SDK's fee
   * deduction: the fee per gas unit must reach the current adaptive minimum. Its error is a plain
   * Go error, so ABCI code 1 in codespace "undefined" (cosmossdk.io/errors for unregistered errors).
   */
  private checkFee(fee: { amount: Array<{ denom: string; amount: string }>; gasLimit: bigint } | undefined): void {
    const gas = Number(fee?.gasLimit ?? 0n);
    if (gas === 0) throw new Refusal(1, 'gas limit must be positive', 'undefined');
    const paid = (fee?.amount ?? []).filter((c) => c.denom === this.feeDenom).reduce((sum, c) => sum + Number(c.amount), 0);
    if (paid / gas < this.minGasPrice) {
      const dec = (n: number) => `${legacyDec(n)}${this.feeDenom}`;
      throw new Refusal(1, `insufficient fee: min gas prices ${dec(this.minGasPrice)}, got ${dec(paid / gas)}`, 'undefined');
    }
  }

  private checkSequence(account: Account, sequence: number): void {
    if (sequence !== account.sequence) {
      throw new Refusal(CODE.WRONG_SEQUENCE, `account sequence mismatch, expected ${account.sequence}, got ${sequence}: incorrect account sequence`);
    }
  }

  private gasFor(messages: number, txBytes: number): number {
    return GAS_PER_TX + GAS_PER_MSG * messages + GAS_PER_BYTE * txBytes;
  }
}
