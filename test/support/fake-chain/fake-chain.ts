import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { sha256 } from '@cosmjs/crypto';
import { fromBase64, fromHex, toBase64, toHex } from '@cosmjs/encoding';
import { toRfc3339WithNanoseconds } from '@cosmjs/tendermint-rpc';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { SimulateRequest, SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { Any } from 'cosmjs-types/google/protobuf/any';
import {
  AccountStatus,
  AuthorizationSession,
  FactorCombination,
  HPCJob,
  SensitiveTransactionType,
  TrustedDevice,
} from '../../../src/adapters/chain/generated/virtengine';
import type { DeepPartial } from '../../../src/adapters/chain/proto-codec';
import { CODE, IncludedTx, Ledger, legacyDec, Refusal } from './ledger';
import { Modules, QueryHandler } from './modules';

export interface FakeChainOptions {
  chainId?: string;
  prefix?: string;
  feeDenom?: string;
  minGasPrice?: number;
}

interface RpcRequest {
  jsonrpc: string;
  id: number | string;
  method: string;
  params?: Record<string, unknown>;
}

/**
 * An in-process VirtEngine chain double speaking CometBFT 0.38 JSON-RPC over real HTTP on a free
 * loopback port: `status`, `abci_query` (auth Account, tx Simulate, and the veid / mfa / hpc
 * queries with real protobuf encoding), `broadcast_tx_sync` (full ante checks, see Ledger),
 * `tx_search` and `tx`. Knobs let a test set scores, MFA state and jobs, count calls, and take
 * the node down (connections refused) and back up on the same port.
 */
export class FakeChain {
  readonly ledger: Ledger;
  readonly modules: Modules;
  /** RPC calls by method, and ABCI queries by path. */
  readonly calls = new Map<string, number>();
  private readonly queries: Map<string, QueryHandler>;
  /** Query paths (by prefix) this node refuses, as a node or gateway that serves no store queries would. */
  private readonly refusedPaths = new Map<string, string>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private readonly nodeId = toHex(randomBytes(20));
  private blockTimer: NodeJS.Timeout | null = null;

  constructor(options: FakeChainOptions = {}) {
    this.ledger = new Ledger(options.chainId ?? 'virtengine-test-1', options.prefix ?? 've', options.feeDenom ?? 'uve', options.minGasPrice ?? 0.025);
    this.modules = new Modules(() => this.ledger.blockTime);
    this.ledger.snapshot = () => this.modules.snapshot();
    this.ledger.beginBlock = () => this.modules.beginBlock();
    this.ledger.endBlock = () => this.modules.endBlock();
    this.queries = this.modules.queryHandlers();
    for (const [typeUrl, handler] of this.modules.msgHandlers()) this.ledger.handlers.set(typeUrl, handler);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get chainId(): string {
    return this.ledger.chainId;
  }

  async start(port = 0): Promise<string> {
    const server = createServer((request, response) => void this.handle(request, response));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.url;
  }

  /** The node goes away: open connections are cut and new ones refused. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Back on the same port. */
  async up(): Promise<void> {
    if (!this.server) await this.start(this.port);
  }

  stop(): Promise<void> {
    this.produceBlocksEvery(0);
    return this.down();
  }

  // ---- knobs -------------------------------------------------------------------------------

  /** Creates the account (as receiving funds does) and credits `amount` of the fee denom. */
  fund(address: string, amount = 10_000_000n) {
    const key = `${address}/${this.ledger.feeDenom}`;
    this.modules.balances.set(key, (this.modules.balances.get(key) ?? 0n) + amount);
    return this.ledger.fund(address);
  }

  setScore(address: string, score: number, status: AccountStatus = AccountStatus.ACCOUNT_STATUS_VERIFIED): void {
    this.modules.scores.set(address, { score, status, modelVersion: 'veid-fake-1', lastUpdatedAt: Math.floor(Date.now() / 1000) });
  }

  /** An MFA authorization session as x/mfa would hold it after MsgVerifyChallenge. */
  setMfaSession(session: Partial<AuthorizationSession> & { sessionId: string; accountAddress: string }): AuthorizationSession {
    const now = Math.floor(Date.now() / 1000);
    const stored = AuthorizationSession.fromPartial({ createdAt: BigInt(now), expiresAt: BigInt(now + 900), ...session });
    this.modules.sessions.set(stored.sessionId, stored);
    return stored;
  }

  setMfaRequirement(
    address: string,
    type: SensitiveTransactionType,
    requirement: { required: boolean; factorCombinations?: FactorCombination[]; minVeidScore?: number },
  ): void {
    this.modules.requirements.set(`${address}/${type}`, { factorCombinations: [], minVeidScore: 0, ...requirement });
  }

  setTrustedDevice(device: TrustedDevice): void {
    this.modules.devices.set(`${device.accountAddress}/${device.deviceInfo?.fingerprint}`, device);
  }

  addJob(job: DeepPartial<HPCJob> & { jobId: string; providerAddress: string }): void {
    // A real job always has max_runtime_seconds ≥ 60 (SubmitJob refuses less).
    this.modules.jobs.set(job.jobId, HPCJob.fromPartial({ state: 1, maxRuntimeSeconds: 3600n, ...job }));
  }

  /** An empty block `seconds` after the last one: Begin/EndBlockers (node liveness, job timeouts) see the new time. */
  advance(seconds: number): void {
    this.ledger.emptyBlock(new Date(this.ledger.blockTime.getTime() + seconds * 1000));
  }

  /**
   * Blocks every `ms` collect the transactions broadcast meanwhile (instead of one block per
   * transaction), so per-block rules such as the 10 transactions per account apply; 0 goes back.
   */
  produceBlocksEvery(ms: number): void {
    if (this.blockTimer) clearInterval(this.blockTimer);
    this.blockTimer = null;
    this.ledger.closeBlock();
    this.ledger.batching = ms > 0;
    if (ms > 0) this.blockTimer = setInterval(() => this.ledger.closeBlock(), ms);
  }

  /** The adaptive minimum gas price moves (as congestion would move it). */
  setMinGasPrice(price: number): void {
    this.ledger.minGasPrice = price;
  }

  /** From now on, ABCI queries whose path starts with `prefix` are refused with `log` (code 1); null lifts it. */
  refuseQueries(prefix: string, log: string | null): void {
    if (log === null) this.refusedPaths.delete(prefix);
    else this.refusedPaths.set(prefix, log);
  }

  count(method: string): number {
    return this.calls.get(method) ?? 0;
  }

  // ---- JSON-RPC ----------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let rpc: RpcRequest;
    try {
      rpc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return this.reply(response, { jsonrpc: '2.0', id: -1, error: { code: -32700, message: 'Parse error', data: 'invalid JSON' } });
    }
    this.calls.set(rpc.method, (this.calls.get(rpc.method) ?? 0) + 1);
    try {
      const result = await this.dispatch(rpc.method, rpc.params ?? {});
      this.reply(response, { jsonrpc: '2.0', id: rpc.id, result });
    } catch (error) {
      this.reply(response, { jsonrpc: '2.0', id: rpc.id, error: { code: -32603, message: 'Internal error', data: (error as Error).message } });
    }
  }

  private reply(response: ServerResponse, body: unknown): void {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  }

  private async dispatch(method: string, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'status':
        return this.status();
      case 'abci_query':
        return { response: this.abciQuery(String(params.path), fromHex(String(params.data ?? ''))) };
      case 'broadcast_tx_sync':
        return this.broadcastSync(fromBase64(String(params.tx)));
      case 'tx_search':
        return this.txSearch(String(params.query));
      case 'tx': {
        const found = this.ledger.findTx(toHex(fromBase64(String(params.hash))));
        if (!found) throw new Error(`tx (${toHex(fromBase64(String(params.hash))).toUpperCase()}) not found`);
        return this.txJson(found);
      }
      default:
        throw new Error(`method ${method} is not implemented by the chain double`);
    }
  }

  private status() {
    return {
      node_info: {
        protocol_version: { p2p: '8', block: '11', app: '0' },
        id: this.nodeId,
        listen_addr: 'tcp://127.0.0.1:26656',
        network: this.ledger.chainId,
        version: '0.38.12',
        channels: '40202122233038606100',
        moniker: 'virtengine-fake',
        other: { tx_index: 'on', rpc_address: this.url },
      },
      sync_info: {
        latest_block_hash: toHex(randomBytes(32)).toUpperCase(),
        latest_app_hash: toHex(randomBytes(32)).toUpperCase(),
        latest_block_height: String(this.ledger.height),
        latest_block_time: toRfc3339WithNanoseconds(this.ledger.blockTime),
        earliest_block_height: '1',
        catching_up: false,
      },
      validator_info: {
        address: toHex(randomBytes(20)).toUpperCase(),
        pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(randomBytes(32)) },
        voting_power: '10',
      },
    };
  }

  private abciQuery(path: string, data: Uint8Array) {
    const base = { key: null, index: '0', proofOps: null, height: String(this.ledger.height), codespace: '', info: '' };
    this.calls.set(path, (this.calls.get(path) ?? 0) + 1);
    try {
      return { ...base, code: 0, log: '', value: toBase64(this.answer(path, data)) };
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return { ...base, code: error.code, codespace: error.codespace, log: error.log, value: null };
    }
  }

  private answer(path: string, data: Uint8Array): Uint8Array {
    for (const [prefix, log] of this.refusedPaths) if (path.startsWith(prefix)) throw new Refusal(1, log, 'undefined');
    if (path === '/cosmos.auth.v1beta1.Query/Account') {
      const { address } = QueryAccountRequest.decode(data);
      const account = this.ledger.accounts.get(address);
      if (!account) throw new Refusal(CODE.KEY_NOT_FOUND, `rpc error: code = NotFound desc = account ${address} not found: key not found`);
      const pubKey = account.pubkey
        ? Any.fromPartial({ typeUrl: '/cosmos.crypto.secp256k1.PubKey', value: PubKey.encode({ key: fromBase64(account.pubkey.value) }).finish() })
        : undefined;
      const base = BaseAccount.fromPartial({ address, pubKey, accountNumber: BigInt(account.accountNumber), sequence: BigInt(account.sequence) });
      return QueryAccountResponse.encode({
        account: Any.fromPartial({ typeUrl: '/cosmos.auth.v1beta1.BaseAccount', value: BaseAccount.encode(base).finish() }),
      }).finish();
    }
    if (path === '/cosmos.tx.v1beta1.Service/Simulate') {
      const { txBytes } = SimulateRequest.decode(data);
      const { gasUsed, msgResponses } = this.ledger.simulate(txBytes);
      return SimulateResponse.encode(
        SimulateResponse.fromPartial({
          gasInfo: { gasWanted: BigInt(gasUsed), gasUsed: BigInt(gasUsed) },
          result: { data: new Uint8Array(), log: '', events: [], msgResponses },
        }),
      ).finish();
    }
    if (path === '/store/gaspricing/key') return this.gasPricingStore(data);
    const handler = this.queries.get(path);
    if (!handler) throw new Refusal(CODE.UNKNOWN_REQUEST, `unknown query path: ${path}: unknown request`);
    return handler(data);
  }

  /**
   * app/gaspricing's store: key 0x02 holds the keeper's State JSON, `current_min_gas_prices` as
   * sdk.DecCoins (18-decimal amounts); written after every block, so present once there is one.
   */
  private gasPricingStore(key: Uint8Array): Uint8Array {
    if (key.length !== 1 || key[0] !== 0x02) return new Uint8Array();
    const state = {
      current_min_gas_prices: [{ denom: this.ledger.feeDenom, amount: legacyDec(this.ledger.minGasPrice) }],
      smoothed_utilization_bps: 6500,
      last_block_height: this.ledger.height,
      last_computed_utilization_bps: 6500,
    };
    return new TextEncoder().encode(JSON.stringify(state));
  }

  private async broadcastSync(tx: Uint8Array) {
    try {
      const included = await this.ledger.broadcast(tx);
      return { code: 0, data: '', log: '[]', codespace: '', hash: included.hash };
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return { code: error.code, data: '', log: error.log, codespace: error.codespace, hash: toHex(sha256(tx)).toUpperCase() };
    }
  }

  private txSearch(query: string) {
    const byHash = /^tx\.hash\s*=\s*'([0-9A-Fa-f]{64})'$/.exec(query.trim());
    if (!byHash) throw new Error(`query ${query} is not supported by the chain double (only tx.hash='…')`);
    const found = this.ledger.findTx(byHash[1]);
    return { txs: found ? [this.txJson(found)] : [], total_count: found ? '1' : '0' };
  }

  private txJson(t: IncludedTx) {
    return {
      hash: t.hash,
      height: String(t.height),
      index: t.index,
      tx_result: {
        code: t.code,
        data: toBase64(t.data),
        log: t.log,
        info: '',
        gas_wanted: String(t.gasWanted),
        gas_used: String(t.gasUsed),
        events: [],
        codespace: t.codespace,
      },
      tx: toBase64(t.tx),
    };
  }
}
