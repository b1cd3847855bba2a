import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { HeartbeatMessage, JoinMessage, LatencyReport, LatencySample, publicKeyToText, signMessage } from '../../src/core/nodes/agent-protocol';
import type { ControlPlane } from './control-plane';

/**
 * A node driven by hand (no agent process): joins with a fresh Ed25519 key through a real join
 * token, nonce and signature, and sends signed heartbeats with the next seq.
 */
export class ManualNode {
  readonly key: KeyObject = generateKeyPairSync('ed25519').privateKey;
  id = '';
  private seq = 0;

  constructor(private readonly cp: ControlPlane) {}

  /** Creates a single-use token with `providerKey`, asks for a nonce and joins; returns the node id. */
  async join(providerKey: string): Promise<string> {
    const token = await this.cp.request('POST', '/v1/join-tokens', providerKey, {});
    if (token.status !== 201) throw new Error(`join token: ${token.status} ${token.text}`);
    const challenge = await this.cp.request('POST', '/v1/agent/join-challenge', null, { token: token.json.token });
    if (challenge.status !== 200) throw new Error(`challenge: ${challenge.status} ${challenge.text}`);
    const message: JoinMessage = {
      purpose: 'join',
      nonce: challenge.json.nonce,
      publicKey: publicKeyToText(createPublicKey(this.key)),
      inventory: { cpus: 2, memoryMb: 1024, gpus: [], features: [], performance: 'low' },
      tags: {},
      probeAddress: '127.0.0.1:9',
      sentAt: Date.now(),
    };
    const joined = await this.cp.request('POST', '/v1/agent/join', null, { token: token.json.token, message, signature: signMessage(message, this.key) });
    if (joined.status !== 201) throw new Error(`join: ${joined.status} ${joined.text}`);
    this.id = joined.json.nodeId;
    return this.id;
  }

  /** A correctly signed heartbeat with the next seq; the answer as the API gives it. */
  heartbeat() {
    const message: HeartbeatMessage = {
      purpose: 'heartbeat',
      nodeId: this.id,
      seq: ++this.seq,
      sentAt: Date.now(),
      capacity: { cpusFree: 2, memoryFreeMb: 1024, gpusFree: 0 },
      health: 'ok',
      slurmdState: 'idle',
    };
    return this.cp.request('POST', '/v1/agent/heartbeat', null, { message, signature: signMessage(message, this.key) });
  }

  /** A correctly signed RTT report (the next seq) with these samples, as an agent's probes would send it. */
  reportLatency(samples: LatencySample[]) {
    const message: LatencyReport = { purpose: 'latency', nodeId: this.id, seq: ++this.seq, sentAt: Date.now(), samples };
    return this.cp.request('POST', '/v1/agent/latency', null, { message, signature: signMessage(message, this.key) });
  }
}
