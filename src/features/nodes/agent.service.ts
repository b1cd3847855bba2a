import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { RateLimits } from '../../adapters/http/ratelimit/rate-limits';
import { conflict, invalid, Problem } from '../../core/common/problem';
import {
  checkFreshness,
  FieldProblem,
  HeartbeatMessage,
  heartbeatProblem,
  JoinMessage,
  joinMessageProblem,
  LatencyReport,
  latencyReportProblem,
  MAX_CLOCK_SKEW_MS,
  normalizeInventory,
  probeAddressRefusal,
  publicKeyFromText,
  signatureValid,
} from '../../core/nodes/agent-protocol';
import {
  generateNonce,
  hashJoinToken,
  looksLikeJoinToken,
  MAX_OPEN_NONCES,
  nodeNamePrefix,
  NONCE_TTL_SECONDS,
  providerGroupOf,
} from '../../core/nodes/join-token';
import { JoinTokensRepository } from './join-tokens.repository';
import { tokenRefusal } from './join-tokens.service';
import { joinTokenState } from './node-view';
import { stateAfterHeartbeat } from '../../core/nodes/node-state';
import { NodeRow, NodesRepository } from './nodes.repository';
import { transaction } from '../../adapters/postgres/transactions';
import { AUDIT_TRAIL, type AuditTrail } from '../../core/audit/audit-trail';
import { IDENTITY_TIER_GATE, type IdentityTierGate } from '../../core/identity/gates';

const SIGNATURE = /^[A-Za-z0-9_-]{86}$/;

const unauthorized = (detail: string, field: string) => new Problem(401, 'Unauthorized', detail, { field });
const forbidden = (detail: string, field: string) => new Problem(403, 'Forbidden', detail, { field });
const fieldProblem = (problem: FieldProblem) => invalid(problem.field, problem.reason);

/**
 * What node agents call. They hold no API key: a join is authorised by a join token plus a fresh
 * single-use nonce, and proves possession of the node key by signing; everything after is
 * authorised by that key's signature, a strictly increasing seq and a clock within ±60 s.
 *
 * Status codes: 400 malformed message or skewed clock; 401 unknown token, unknown node, nonce not
 * issued for this token or a signature that does not verify; 403 revoked token, a provider
 * whose VEID tier is below the join policy (503 when the chain cannot be asked), a probe address
 * that is not the joining machine's own or a provider group that is not the token's provider's; 409 replayed
 * nonce, replayed or out-of-order seq, public key already registered; 410 expired or used-up
 * token, expired nonce, deregistered node; 429 too many open challenges for one token.
 */
@Injectable()
export class AgentService {
  private readonly logger = new Logger(AgentService.name);

  constructor(
    private readonly db: DataSource,
    private readonly tokens: JoinTokensRepository,
    private readonly nodes: NodesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(IDENTITY_TIER_GATE) private readonly veid: IdentityTierGate,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditTrail,
    private readonly limits: RateLimits,
  ) {}

  async challenge(token: unknown) {
    if (!looksLikeJoinToken(token)) throw tokenRefusal(null);
    const row = await this.tokens.findByHash(hashJoinToken(token));
    if (!row || joinTokenState(row) !== 'active') throw tokenRefusal(row);
    if ((await this.tokens.openNonces(row.id)) >= MAX_OPEN_NONCES) {
      throw new Problem(429, 'Too many requests', `this token already has ${MAX_OPEN_NONCES} open challenges; use one or wait ${NONCE_TTL_SECONDS} s`);
    }
    const nonce = generateNonce();
    const expiresAt = await this.tokens.insertNonce(row.id, nonce, NONCE_TTL_SECONDS);
    return { nonce, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** `sourceAddress`: where the join came from, the only address the node may be probed at. */
  async join(token: unknown, message: JoinMessage, signature: unknown, sourceAddress: string) {
    if (!looksLikeJoinToken(token)) throw tokenRefusal(null);
    const shape = joinMessageProblem(message);
    if (shape) throw fieldProblem(shape);
    this.verify(message, signature, publicKeyFromText(message.publicKey), 'the signature does not verify with message.publicKey');
    this.fresh(message, 'join');
    const foreignProbe = probeAddressRefusal(message.probeAddress, sourceAddress);
    if (foreignProbe) throw forbidden(`message.probeAddress ${foreignProbe}`, 'message.probeAddress');
    // The provider's chain identity must reach the join tier (VEID gate) before its node may join.
    const tokenRow = await this.tokens.findByHash(hashJoinToken(token));
    if (tokenRow) await this.veid.requireForPrincipal(tokenRow.provider_id, ['provider_join']);

    const node = await transaction(this.db, async (m) => {
      // Everything below commits together: a join that fails later gives the token use back.
      const hash = hashJoinToken(token);
      const granted = await this.tokens.consumeUse(hash, m);
      if (!granted) throw tokenRefusal(await this.tokens.findByHash(hash, m));
      const nonce = await this.tokens.consumeNonce(message.nonce, granted.id, m);
      if (nonce === 'unknown') throw unauthorized('the nonce was not issued for this join token', 'message.nonce');
      if (nonce === 'used') throw conflict('this nonce was already used: a join message is good for one join only', 'message.nonce');
      if (nonce === 'expired') {
        throw new Problem(410, 'Gone', `the nonce expired (they last ${NONCE_TTL_SECONDS} s); ask for a new challenge`, { field: 'message.nonce' });
      }
      const providerGroup = providerGroupOf({ id: granted.provider_id, name: granted.provider_name });
      const claimed = message.tags?.providerGroup;
      if (claimed !== undefined && claimed !== providerGroup) {
        throw forbidden(
          `message.tags.providerGroup: this join token admits nodes of provider group "${providerGroup}" only, not "${claimed}"`,
          'message.tags.providerGroup',
        );
      }
      const created = await this.nodes.insert(m, {
        providerId: granted.provider_id,
        tokenId: granted.id,
        namePrefix: nodeNamePrefix(granted.provider_name),
        publicKey: message.publicKey,
        inventory: normalizeInventory(message.inventory),
        tags: { ...message.tags, providerGroup },
        probeAddress: message.probeAddress,
      });
      if (created === 'key-taken') {
        throw conflict('a node with this public key is already registered; generate a new key to join again', 'message.publicKey');
      }
      await this.audit.record({
        actor: `join_token:${granted.id}`,
        action: 'node.join',
        target: `node:${created.id}`,
        details: { providerId: granted.provider_id, name: created.name, publicKey: message.publicKey },
      });
      return created;
    });
    this.logger.log(`node ${node.name} (${node.id}) joined for provider ${node.provider_id}`);
    return {
      nodeId: node.id,
      name: node.name,
      state: node.state,
      heartbeatIntervalSeconds: this.config.nodes.heartbeatSeconds,
      probePeers: await this.nodes.probePeers(node, this.config.nodes.probePeers),
    };
  }

  async heartbeat(message: HeartbeatMessage, signature: unknown) {
    const shape = heartbeatProblem(message);
    if (shape) throw fieldProblem(shape);
    let node = await this.authenticate(message, signature);
    for (let attempt = 0; attempt < 5; attempt++) {
      this.sequence(node, message.seq);
      const next = stateAfterHeartbeat(node.state, node.drained_reason !== null);
      if (!next) throw this.deregistered(node);
      const recorded = await this.nodes.recordHeartbeat(node.id, message.seq, node.state, next, {
        capacity: {
          cpusFree: message.capacity.cpusFree,
          memoryFreeMb: message.capacity.memoryFreeMb,
          gpusFree: message.capacity.gpusFree,
        },
        health: message.health,
        slurmdState: message.slurmdState,
      });
      if (recorded) {
        if (recorded.state !== node.state) this.logger.log(`node ${node.name}: ${node.state} -> ${recorded.state} (heartbeat)`);
        return {
          nodeId: recorded.id,
          state: recorded.state,
          nextHeartbeatSeconds: this.config.nodes.heartbeatSeconds,
          probePeers: await this.nodes.probePeers(recorded, this.config.nodes.probePeers),
        };
      }
      // Another heartbeat, the sweeper or an admin changed the node in between: decide again.
      node = (await this.nodes.findById(node.id))!;
    }
    throw conflict('the node changed state repeatedly while this heartbeat was recorded; send the next one');
  }

  async latency(message: LatencyReport, signature: unknown) {
    const shape = latencyReportProblem(message);
    if (shape) throw fieldProblem(shape);
    const node = await this.authenticate(message, signature);
    if (node.state === 'DEREGISTERED') throw this.deregistered(node);
    this.sequence(node, message.seq);
    if (!(await this.nodes.advanceSeq(node.id, message.seq))) {
      const now = await this.nodes.findById(node.id);
      if (now?.state === 'DEREGISTERED') throw this.deregistered(now);
      this.sequence(now!, message.seq);
    }
    const stored = new Set(await this.nodes.upsertSamples(node.id, message.samples));
    const ignored = message.samples.map((s) => s.peer.toLowerCase()).filter((peer) => !stored.has(peer));
    return { accepted: stored.size, ignored };
  }

  /** The node named in the message, whose stored key signed it, at a time close to ours. */
  private async authenticate(message: HeartbeatMessage | LatencyReport, signature: unknown): Promise<NodeRow> {
    const node = await this.nodes.findById(message.nodeId.toLowerCase());
    if (!node) throw unauthorized('no node has this id; join first', 'message.nodeId');
    this.verify(message, signature, publicKeyFromText(node.public_key), "the signature does not verify with the node's registered key");
    this.fresh(message, message.purpose);
    // Counted only once the signature proves the sender: nobody can spend another node's allowance.
    await this.limits.enforce('node', `node:${node.id}`, null);
    return node;
  }

  private verify(message: JoinMessage | HeartbeatMessage | LatencyReport, signature: unknown, key: ReturnType<typeof publicKeyFromText>, detail: string) {
    if (typeof signature !== 'string' || !SIGNATURE.test(signature)) {
      throw invalid('signature', 'must be an Ed25519 signature, base64url (64 bytes)');
    }
    if (!signatureValid(message, signature, key)) throw unauthorized(detail, 'signature');
  }

  private fresh(message: JoinMessage | HeartbeatMessage | LatencyReport, purpose: 'join' | 'heartbeat' | 'latency') {
    const verdict = checkFreshness(message, purpose, Date.now(), MAX_CLOCK_SKEW_MS);
    if (!verdict.ok) {
      throw new Problem(400, 'Invalid request', `message.sentAt: ${verdict.reason}; synchronise the node's clock (NTP)`, {
        field: 'message.sentAt',
        serverTime: Date.now(),
      });
    }
  }

  /** Refuses a seq that is not after the stored one; the (authenticated) agent learns where to resume. */
  private sequence(node: NodeRow, seq: number) {
    const lastSeq = Number(node.last_seq);
    if (seq <= lastSeq) {
      throw new Problem(409, 'Conflict', `message.seq ${seq} is not after ${lastSeq}: replayed or out of order`, {
        field: 'message.seq',
        lastSeq,
      });
    }
  }

  private deregistered(node: NodeRow): Problem {
    return new Problem(410, 'Gone', `node ${node.name} was deregistered; join again with a new key and token`, { field: 'message.nodeId' });
  }
}
