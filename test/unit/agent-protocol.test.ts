import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';

import {
  canonicalIp,
  probeAddressRefusal,
  checkFreshness,
  checkSequence,
  HeartbeatMessage,
  heartbeatProblem,
  inventoryProblem,
  JoinMessage,
  joinMessageProblem,
  LatencyReport,
  latencyReportProblem,
  MAX_CLOCK_SKEW_MS,
  parseProbeAddress,
  privateKeyFromPem,
  publicKeyFromText,
  publicKeyToText,
  signatureValid,
  signMessage,
} from '../../src/core/nodes/agent-protocol';
import { hashJoinToken, looksLikeJoinToken, generateJoinToken, nodeNamePrefix, providerGroupOf } from '../../src/core/nodes/join-token';

const NOW = 1_764_000_000_000;
const NODE = '0b7c3c4e-6f1a-4d55-9d0e-1f2a3b4c5d6e';
const PEER = '1c8d4d5f-7a2b-4e66-8e1f-2a3b4c5d6e7f';

function keys() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, text: publicKeyToText(publicKey) };
}

const join = (over: Partial<JoinMessage> = {}): JoinMessage => ({
  purpose: 'join',
  nonce: 'n0nce-n0nce-n0nce-n0nce-n0nce-xx',
  publicKey: keys().text,
  inventory: { cpus: 8, memoryMb: 16384, gpus: [{ model: 'NVIDIA-A100', count: 2 }], features: ['avx512'], performance: 'high' },
  tags: { region: 'eu-west', zone: 'eu-west-1a' },
  probeAddress: '10.0.0.5:47800',
  sentAt: NOW,
  ...over,
});

const heartbeat = (over: Partial<HeartbeatMessage> = {}): HeartbeatMessage => ({
  purpose: 'heartbeat',
  nodeId: NODE,
  seq: 7,
  sentAt: NOW,
  capacity: { cpusFree: 4, memoryFreeMb: 1024, gpusFree: 0 },
  health: 'ok',
  slurmdState: 'none',
  ...over,
});

const report = (samples: unknown[], over: Partial<LatencyReport> = {}): LatencyReport => ({
  purpose: 'latency',
  nodeId: NODE,
  seq: 8,
  sentAt: NOW,
  samples: samples as LatencyReport['samples'],
  ...over,
});

describe('agent protocol: keys and signatures', () => {
  it('round-trips an Ed25519 public key as 32 raw bytes, base64url', () => {
    const { publicKey, text } = keys();
    assert.equal(Buffer.from(text, 'base64url').length, 32);
    assert.ok(publicKeyFromText(text).equals(publicKey));
  });

  it('refuses public keys that are not exactly 32 canonical bytes', () => {
    assert.throws(() => publicKeyFromText('abc'));
    assert.throws(() => publicKeyFromText(Buffer.alloc(33).toString('base64url')));
    assert.throws(() => publicKeyFromText(`${keys().text}=`));
  });

  it('loads only Ed25519 private keys', () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    assert.equal(privateKeyFromPem(ed).asymmetricKeyType, 'ed25519');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    assert.throws(() => privateKeyFromPem(ec), /Ed25519/);
  });

  it('verifies a signature over canonical JSON, whatever the key order', () => {
    const { privateKey, publicKey } = keys();
    const message = heartbeat();
    const signature = signMessage(message, privateKey);
    const reordered = JSON.parse(JSON.stringify({ ...message, purpose: undefined, health: message.health, purpose2: undefined }));
    reordered.purpose = 'heartbeat';
    assert.ok(signatureValid(reordered, signature, publicKey));
  });

  it('rejects a changed message, another key and garbage signatures', () => {
    const { privateKey, publicKey } = keys();
    const signature = signMessage(heartbeat(), privateKey);
    assert.equal(signatureValid(heartbeat({ seq: 8 }), signature, publicKey), false);
    assert.equal(signatureValid(heartbeat(), signature, keys().publicKey), false);
    assert.equal(signatureValid(heartbeat(), 'not-a-signature', publicKey), false);
    assert.equal(signatureValid(heartbeat(), '', publicKey), false);
  });
});

describe('agent protocol: freshness and sequence', () => {
  it('accepts a clock within the skew either way and refuses beyond it', () => {
    assert.deepEqual(checkFreshness(heartbeat({ sentAt: NOW - MAX_CLOCK_SKEW_MS }), 'heartbeat', NOW, MAX_CLOCK_SKEW_MS), { ok: true });
    assert.deepEqual(checkFreshness(heartbeat({ sentAt: NOW + MAX_CLOCK_SKEW_MS }), 'heartbeat', NOW, MAX_CLOCK_SKEW_MS), { ok: true });
    const late = checkFreshness(heartbeat({ sentAt: NOW - MAX_CLOCK_SKEW_MS - 1000 }), 'heartbeat', NOW, MAX_CLOCK_SKEW_MS);
    assert.equal(late.ok, false);
    assert.match((late as { reason: string }).reason, /clock skew of 61 s exceeds 60 s/);
    assert.equal(checkFreshness(heartbeat({ sentAt: NOW + 3_600_000 }), 'heartbeat', NOW, MAX_CLOCK_SKEW_MS).ok, false);
  });

  it('refuses a message sent to the wrong endpoint and a non-numeric time', () => {
    assert.match((checkFreshness(heartbeat(), 'latency', NOW, MAX_CLOCK_SKEW_MS) as { reason: string }).reason, /expected a latency message/);
    assert.equal(checkFreshness(heartbeat({ sentAt: Number.NaN }), 'heartbeat', NOW, MAX_CLOCK_SKEW_MS).ok, false);
  });

  it('needs a strictly increasing positive integer seq', () => {
    assert.deepEqual(checkSequence(8, 7), { ok: true });
    assert.equal(checkSequence(7, 7).ok, false);
    assert.equal(checkSequence(6, 7).ok, false);
    assert.equal(checkSequence(0, 0).ok, false);
    assert.equal(checkSequence(1.5, 0).ok, false);
    assert.equal(checkSequence(2 ** 60, 0).ok, false);
  });
});

describe('agent protocol: inventory and messages', () => {
  it('accepts a sound inventory and names the first bad field', () => {
    const m = join();
    assert.equal(inventoryProblem(m.inventory, m.tags), null);
    assert.equal(inventoryProblem({ ...m.inventory, cpus: 0 }, {})?.field, 'inventory.cpus');
    assert.equal(inventoryProblem({ ...m.inventory, memoryMb: 10 }, {})?.field, 'inventory.memoryMb');
    assert.equal(inventoryProblem({ ...m.inventory, gpus: [{ model: 'A 100', count: 1 }] }, {})?.field, 'inventory.gpus[0].model');
    assert.equal(inventoryProblem({ ...m.inventory, gpus: [{ model: 'A100', count: 0 }] }, {})?.field, 'inventory.gpus[0].count');
    assert.equal(inventoryProblem({ ...m.inventory, features: ['ok', 'not ok'] }, {})?.field, 'inventory.features');
    assert.equal(inventoryProblem({ ...m.inventory, features: [123 as unknown as string] }, {})?.field, 'inventory.features');
    assert.equal(inventoryProblem({ ...m.inventory, gpus: [{ model: 100 as unknown as string, count: 1 }] }, {})?.field, 'inventory.gpus[0].model');
    assert.equal(inventoryProblem({ ...m.inventory, gpus: [null as never] }, {})?.field, 'inventory.gpus[0].model');
    assert.equal(inventoryProblem({ ...m.inventory, performance: 'turbo' as 'high' }, {})?.field, 'inventory.performance');
    assert.equal(inventoryProblem(m.inventory, { datacenter: 'x' } as never)?.field, 'tags.datacenter');
    assert.equal(inventoryProblem(m.inventory, { region: 'eu west' })?.field, 'tags.region');
  });

  it('checks a join message field by field', () => {
    assert.equal(joinMessageProblem(join()), null);
    assert.equal(joinMessageProblem(null)?.field, 'message');
    assert.equal(joinMessageProblem(join({ purpose: 'heartbeat' as 'join' }))?.field, 'message.purpose');
    assert.equal(joinMessageProblem(join({ nonce: 'short' }))?.field, 'message.nonce');
    assert.equal(joinMessageProblem(join({ publicKey: 'AAAA' }))?.field, 'message.publicKey');
    assert.equal(joinMessageProblem(join({ probeAddress: '10.0.0.5' }))?.field, 'message.probeAddress');
    assert.equal(joinMessageProblem(join({ sentAt: '1' as unknown as number }))?.field, 'message.sentAt');
    assert.equal(joinMessageProblem(join({ inventory: { ...join().inventory, cpus: -1 } }))?.field, 'message.inventory.cpus');
  });

  it('parses probe addresses: hostnames, IPv4 and bracketed IPv6 with a port', () => {
    assert.deepEqual(parseProbeAddress('10.0.0.5:47800'), { host: '10.0.0.5', port: 47800 });
    assert.deepEqual(parseProbeAddress('node-1.example.org:1'), { host: 'node-1.example.org', port: 1 });
    assert.deepEqual(parseProbeAddress('[fd00::5]:47800'), { host: 'fd00::5', port: 47800 });
    for (const bad of ['10.0.0.5', '10.0.0.5:0', '10.0.0.5:65536', 'fd00::5:47800', 'a b:80', ':80', 'host:80x', 42]) {
      assert.equal(parseProbeAddress(bad), null, String(bad));
    }
  });

  it('checks heartbeats', () => {
    assert.equal(heartbeatProblem(heartbeat()), null);
    assert.equal(heartbeatProblem(heartbeat({ nodeId: 'node-1' }))?.field, 'message.nodeId');
    assert.equal(heartbeatProblem(heartbeat({ seq: 0 }))?.field, 'message.seq');
    assert.equal(heartbeatProblem(heartbeat({ seq: 1.5 }))?.field, 'message.seq');
    assert.equal(heartbeatProblem(heartbeat({ capacity: { cpusFree: -1, memoryFreeMb: 0, gpusFree: 0 } }))?.field, 'message.capacity.cpusFree');
    assert.equal(heartbeatProblem(heartbeat({ health: 'great' as 'ok' }))?.field, 'message.health');
    assert.equal(heartbeatProblem(heartbeat({ slurmdState: 'rm -rf /' }))?.field, 'message.slurmdState');
    assert.equal(heartbeatProblem({ ...heartbeat(), purpose: 'latency' })?.field, 'message.purpose');
  });

  it('checks latency samples: RTT in [0, 10 s), loss in [0, 1], null RTT only for total loss', () => {
    const sample = { peer: PEER, rttMs: 0.42, loss: 0, probes: 5 };
    assert.equal(latencyReportProblem(report([sample])), null);
    assert.equal(latencyReportProblem(report([{ ...sample, rttMs: 0 }])), null);
    assert.equal(latencyReportProblem(report([{ ...sample, rttMs: null, loss: 1 }])), null);
    assert.equal(latencyReportProblem(report([{ ...sample, rttMs: null, loss: 0.2 }]))?.field, 'message.samples[0].rttMs');
    assert.equal(latencyReportProblem(report([{ ...sample, rttMs: -1 }]))?.field, 'message.samples[0].rttMs');
    assert.equal(latencyReportProblem(report([{ ...sample, rttMs: 10_000 }]))?.field, 'message.samples[0].rttMs');
    assert.equal(latencyReportProblem(report([{ ...sample, loss: 1.5 }]))?.field, 'message.samples[0].loss');
    assert.equal(latencyReportProblem(report([{ ...sample, loss: -0.1 }]))?.field, 'message.samples[0].loss');
    assert.equal(latencyReportProblem(report([{ ...sample, probes: 0 }]))?.field, 'message.samples[0].probes');
    assert.equal(latencyReportProblem(report([{ ...sample, peer: 'x' }]))?.field, 'message.samples[0].peer');
    assert.equal(latencyReportProblem(report([{ ...sample, peer: NODE }]))?.field, 'message.samples[0].peer');
    assert.equal(latencyReportProblem(report([sample, sample]))?.field, 'message.samples[1].peer');
    assert.equal(latencyReportProblem(report(Array.from({ length: 257 }, () => sample)))?.field, 'message.samples');
  });
});

describe('join tokens', () => {
  it('are jt_ plus 32 random bytes; only their hash is kept', () => {
    const a = generateJoinToken();
    const b = generateJoinToken();
    assert.match(a.token, /^jt_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.token, b.token);
    assert.ok(looksLikeJoinToken(a.token));
    assert.ok(a.hash.equals(hashJoinToken(a.token)));
    assert.equal(a.hash.length, 32);
    assert.equal(a.prefix, a.token.slice(0, 11));
    assert.equal(looksLikeJoinToken(`${a.token}x`), false);
    assert.equal(looksLikeJoinToken('ak_' + a.token.slice(3)), false);
  });

  it('give SLURM-safe node name stems', () => {
    assert.equal(nodeNamePrefix('Acme GPU Cloud'), 'acme-gpu-cloud');
    assert.equal(nodeNamePrefix('42@lab.example'), 'lab-example');
    assert.equal(nodeNamePrefix('___'), 'node');
    assert.equal(nodeNamePrefix('a'.repeat(40)), 'a'.repeat(24));
    assert.equal(nodeNamePrefix('abcdefghijklmnopqrstuvw-xyz'), 'abcdefghijklmnopqrstuvw');
  });
});

describe('agent protocol: what a node may claim', () => {
  it('canonical IP spellings: mapped IPv4, IPv6 case and compression, brackets', () => {
    assert.equal(canonicalIp('127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalIp('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalIp('[2001:DB8:0:0:0:0:0:1]'), '2001:db8::1');
    assert.equal(canonicalIp('localhost'), null);
    assert.equal(canonicalIp('999.1.1.1'), null);
  });
  it('a probe address must be the address the join comes from', () => {
    assert.equal(probeAddressRefusal('127.0.0.1:47800', '127.0.0.1'), null);
    assert.equal(probeAddressRefusal('127.0.0.1:47800', '::ffff:127.0.0.1'), null);
    assert.equal(probeAddressRefusal('[2001:db8::1]:47800', '2001:DB8::1'), null);
    assert.match(probeAddressRefusal('198.51.100.7:22', '203.0.113.5')!, /this join comes from 203\.0\.113\.5, not 198\.51\.100\.7/);
    assert.match(probeAddressRefusal('127.0.0.2:47800', '127.0.0.1')!, /own address/);
  });
  it('a host name is refused: it could resolve to anyone', () => {
    assert.match(probeAddressRefusal('victim.example:80', '203.0.113.5')!, /must be an IP address/);
    assert.match(probeAddressRefusal('nonsense', '203.0.113.5')!, /host:port/);
  });
  it('the provider group comes from the provider: its name when it can be a tag, else its id', () => {
    const id = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    assert.equal(providerGroupOf({ id, name: 'acme-gpu' }), 'acme-gpu');
    assert.equal(providerGroupOf({ id, name: 'ops@lab' }), id);
    assert.equal(providerGroupOf({ id, name: 'wallet:ve1qqqq' }), id);
  });
});
