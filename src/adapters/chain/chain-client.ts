import type { EncodeObject, OfflineSigner } from '@cosmjs/proto-signing';
import { sha256 } from '@cosmjs/crypto';
import { toHex } from '@cosmjs/encoding';
import { calculateFee, DeliverTxResponse, GasPrice, IndexedTx, QueryClient, SigningStargateClient } from '@cosmjs/stargate';
import { Comet38Client, HttpClient } from '@cosmjs/tendermint-rpc';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { chainRegistry } from './chain-registry';
import {
  ChainQueryError,
  type ChainQueries,
  type ChainSigner,
  ChainUnavailableError,
  GasPriceAboveCeilingError,
  type JobRecordsHealth,
  TxUnconfirmedError,
  WrongChainError,
} from './chain-port';
import type { ChainSettings } from './chain-settings';
import type { MessageCodec } from './proto-codec';
import { decodeStoredScore, StoredIdentityScore, VEID_STORE_PATH, veidScoreKey } from './veid-score-store';
import { currentMinGasPrice, decideGasPrice, GAS_PRICING_STATE_KEY, GAS_PRICING_STORE_PATH, GasPriceDecision, priceAmount } from './gas-price-store';
import {
  decodeStoredJob,
  decodeStoredJobs,
  decodeStoredRewards,
  HPC_JOB_PREFIX,
  HPC_REWARD_PREFIX,
  HPC_STORE_KEY_PATH,
  HPC_STORE_SUBSPACE_PATH,
  hpcJobKey,
  StoredHpcJob,
  StoredHpcReward,
} from './hpc-job-store';
import {
  QueryAuthorizationSessionRequest,
  QueryAuthorizationSessionResponse,
  QueryMFARequiredRequest,
  QueryMFARequiredResponse,
  QueryTrustedDeviceRequest,
  QueryTrustedDeviceResponse,
  SensitiveTransactionType,
} from './generated/virtengine';

/**
 * The one cosmjs-based VirtEngine client: ABCI queries with our protobuf types, and signers built
 * on `SigningStargateClient` with our message registry. It connects lazily (no RPC call at
 * construction), so a chain that is down at start delays nothing; every call reports a chain
 * that cannot be reached as ChainUnavailableError, which callers turn into fail-closed 503s.
 */
export class VirtEngineChainClient implements ChainQueries {
  private readonly comet: Comet38Client;
  private readonly queries: QueryClient;
  /** The last outcome of reading x/hpc's job records. */
  jobRecords: JobRecordsHealth = { readable: null, detail: 'not read yet' };
  /** Told of every job-record read's outcome (the metrics gauge). */
  onJobRecords: ((health: JobRecordsHealth) => void) | null = null;
  /** Told of every gas price decision before signing (metrics, the held-transactions log). */
  onGasPrice: ((decision: GasPriceDecision) => void) | null = null;

  constructor(readonly settings: ChainSettings & { rpcUrl: string }) {
    this.comet = Comet38Client.create(new HttpClient(settings.rpcUrl, settings.requestTimeoutMs));
    this.queries = new QueryClient(this.comet);
  }

  async identityScore(address: string): Promise<StoredIdentityScore | null> {
    const key = veidScoreKey(address);
    let answer;
    try {
      answer = await this.queries.queryAbci(VEID_STORE_PATH, key);
    } catch (error) {
      throw classify(error, VEID_STORE_PATH);
    }
    return decodeStoredScore(answer.value, Math.floor(Date.now() / 1000));
  }

  mfaSession(sessionId: string) {
    return this.query('/virtengine.mfa.v1.Query/AuthorizationSession', QueryAuthorizationSessionRequest, { sessionId }, QueryAuthorizationSessionResponse);
  }

  mfaRequired(address: string, transactionType: SensitiveTransactionType) {
    return this.query('/virtengine.mfa.v1.Query/MFARequired', QueryMFARequiredRequest, { address, transactionType }, QueryMFARequiredResponse);
  }

  trustedDevice(address: string, deviceFingerprint: string) {
    return this.query('/virtengine.mfa.v1.Query/TrustedDevice', QueryTrustedDeviceRequest, { address, deviceFingerprint }, QueryTrustedDeviceResponse);
  }

  async hpcJob(jobId: string): Promise<StoredHpcJob | null> {
    return decodeStoredJob(await this.readJobRecords(HPC_STORE_KEY_PATH, hpcJobKey(jobId)));
  }

  async hpcJobs(): Promise<StoredHpcJob[]> {
    return decodeStoredJobs(await this.readJobRecords(HPC_STORE_SUBSPACE_PATH, Uint8Array.of(HPC_JOB_PREFIX)));
  }

  async hpcRewards(): Promise<StoredHpcReward[]> {
    return decodeStoredRewards(await this.readJobRecords(HPC_STORE_SUBSPACE_PATH, Uint8Array.of(HPC_REWARD_PREFIX)));
  }

  /**
   * A store read of x/hpc's job records, remembered in `jobRecords` (readiness and the
   * archipelago_chain_job_records_readable gauge show it): a node that refuses store queries
   * leaves ingress and job reports waiting, visibly, instead of failing quietly.
   */
  private async readJobRecords(path: string, key: Uint8Array): Promise<Uint8Array> {
    try {
      const { value } = await this.queries.queryAbci(path, key);
      this.noteJobRecords({ readable: true, detail: '' });
      return value;
    } catch (error) {
      const classified = classify(error, path);
      // Unreachable is the `chain` check's business; a refusal means this node will not serve the records.
      if (classified instanceof ChainQueryError) this.noteJobRecords({ readable: false, detail: classified.message });
      throw classified;
    }
  }

  private noteJobRecords(health: JobRecordsHealth): void {
    this.jobRecords = health;
    this.onJobRecords?.(health);
  }

  /**
   * The price to sign at now: the chain's current adaptive minimum (its `gaspricing` store) with
   * next-block headroom, the configured CHAIN_GAS_PRICE when the chain states none or will not
   * say; GasPriceAboveCeilingError when the minimum is above CHAIN_GAS_PRICE_MAX.
   */
  async gasPrice(): Promise<GasPrice> {
    const { gasPrice, gasPriceMax, denom } = this.settings;
    const feeDenom = gasPrice.replace(/^\d+(\.\d+)?/, '');
    let minimum: string | null = null;
    try {
      minimum = currentMinGasPrice((await this.queries.queryAbci(GAS_PRICING_STORE_PATH, GAS_PRICING_STATE_KEY)).value, feeDenom || denom);
    } catch (error) {
      const classified = classify(error, GAS_PRICING_STORE_PATH);
      if (!(classified instanceof ChainQueryError)) throw classified;
      // A node that will not serve the store: the configured price, which the node may refuse (then visible as refusals).
    }
    const decision = decideGasPrice(minimum, priceAmount(gasPrice), priceAmount(gasPriceMax));
    this.onGasPrice?.(decision);
    if (decision.kind === 'hold') throw new GasPriceAboveCeilingError(`${decision.chainMinimum}${feeDenom}`, gasPriceMax);
    return GasPrice.fromString(`${decision.price}${feeDenom}`);
  }

  /** Any ABCI gRPC query: `path` is `/<service>/<Method>`. */
  async query<Req, Res>(path: string, request: MessageCodec<Req>, value: Partial<Req>, response: MessageCodec<Res>): Promise<Res> {
    const data = request.encode(request.fromPartial(value as never)).finish();
    let answer;
    try {
      answer = await this.queries.queryAbci(path, data);
    } catch (error) {
      throw classify(error, path);
    }
    return response.decode(answer.value);
  }

  async chainId(): Promise<string> {
    try {
      return (await this.comet.status()).nodeInfo.network;
    } catch (error) {
      throw classify(error, 'status');
    }
  }

  /** A signer for `wallet`'s first account. Refuses a node that serves another chain. */
  async signer(wallet: OfflineSigner): Promise<ChainSigner> {
    const [account] = await wallet.getAccounts();
    const actual = await this.chainId();
    if (actual !== this.settings.chainId) throw new WrongChainError(this.settings.chainId, actual);
    const client = SigningStargateClient.createWithSigner(this.comet, wallet, { registry: chainRegistry() });
    const { gasMultiplier, broadcastPollMs } = this.settings;
    const price = () => this.gasPrice();
    const defaultTimeoutMs = Math.max(60_000, broadcastPollMs * 10);
    const chainId = this.settings.chainId;
    let accountNumber: bigint | null = null;
    const signer: ChainSigner = {
      address: account.address,
      async prepare(messages: EncodeObject[], memo = '', sequence?: number) {
        try {
          const gas = await client.simulate(account.address, messages, memo);
          const gasLimit = Math.ceil(gas * gasMultiplier);
          const fee = calculateFee(gasLimit, await price());
          if (accountNumber === null || sequence === undefined) {
            const current = await client.getSequence(account.address);
            accountNumber = current.accountNumber;
            sequence ??= current.sequence;
          }
          const signed = await client.sign(account.address, messages, fee, memo, { accountNumber, sequence, chainId });
          const txBytes = TxRaw.encode(signed).finish();
          return { hash: toHex(sha256(txBytes)).toUpperCase(), txBytes, sequence, gasLimit };
        } catch (error) {
          throw classify(error, 'simulate/sign');
        }
      },
      async submit(txBytes: Uint8Array) {
        try {
          // Not cosmjs' broadcastTx: its 60 s timer outlives a refused broadcast, and we want the hash first.
          return await client.broadcastTxSync(txBytes);
        } catch (error) {
          throw classify(error, 'broadcast');
        }
      },
      async committedSequence() {
        try {
          return (await client.getSequence(account.address)).sequence;
        } catch (error) {
          throw classify(error, 'sequence');
        }
      },
      async latestHeight() {
        try {
          return await client.getHeight();
        } catch (error) {
          throw classify(error, 'status');
        }
      },
      async findTx(hash: string) {
        let found;
        try {
          found = await client.getTx(hash);
        } catch (error) {
          throw classify(error, 'tx search');
        }
        return found ? deliverResponse(hash, found) : null;
      },
      async broadcast(messages: EncodeObject[], memo = '') {
        return signer.submit((await signer.prepare(messages, memo)).txBytes);
      },
      confirm: (hash: string, timeoutMs = defaultTimeoutMs) => waitForTx(client, hash, broadcastPollMs, timeoutMs),
      async signAndBroadcast(messages: EncodeObject[], memo = '') {
        return signer.confirm(await signer.broadcast(messages, memo));
      },
    };
    return signer;
  }

  disconnect(): void {
    this.comet.disconnect();
  }
}

/**
 * Polls until the transaction is in a block (its result, success or not) or the time is up. A
 * node that cannot be asked for a while is waited out: the transaction may land meanwhile.
 */
async function waitForTx(client: SigningStargateClient, hash: string, pollMs: number, timeoutMs: number): Promise<DeliverTxResponse> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    let found;
    try {
      found = await client.getTx(hash);
    } catch (error) {
      lastError = ` (last error: ${(error as Error).message})`;
      continue;
    }
    if (found) return deliverResponse(hash, found);
  }
  throw new TxUnconfirmedError(
    hash,
    `transaction ${hash} was broadcast but not seen in a block within ${timeoutMs} ms${lastError}; look it up before sending again`,
  );
}

function deliverResponse(hash: string, found: IndexedTx): DeliverTxResponse {
  return {
    code: found.code,
    height: found.height,
    txIndex: found.txIndex,
    events: found.events,
    rawLog: found.rawLog,
    transactionHash: hash,
    msgResponses: found.msgResponses,
    gasUsed: found.gasUsed,
    gasWanted: found.gasWanted,
  };
}

/** cosmjs reports both "node said no" and "node unreachable" as plain Errors; tell them apart. */
const REFUSALS: Array<[RegExp, (m: RegExpExecArray) => number]> = [
  [/^Query failed with \((\d+)\)/, (m) => Number(m[1])],
  [/^Broadcasting transaction failed with code (\d+)/, (m) => Number(m[1])],
  // getSequence on an account the chain has never seen (sdk ErrUnknownAddress).
  [/^Account '.*' does not exist on chain/, () => 9],
];

function classify(error: unknown, what: string): Error {
  if (error instanceof ChainQueryError || error instanceof ChainUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  for (const [pattern, code] of REFUSALS) {
    const match = pattern.exec(message);
    if (match) return new ChainQueryError(code(match), message);
  }
  return new ChainUnavailableError(`${what}: ${message}`);
}
