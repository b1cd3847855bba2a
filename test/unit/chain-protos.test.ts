import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '@cosmjs/encoding';
import { GENERATED_PATHS, generateChainTypes } from '../../src/adapters/chain/codegen/main';
import { parseProto } from '../../src/adapters/chain/codegen/proto-subset';
import { chainRegistry } from '../../src/adapters/chain/chain-registry';
import {
  AuthorizationSession,
  HPCJob,
  MsgReportJobStatus,
  QueryIdentityScoreRequest,
  QueryIdentityScoreResponse,
  QueryMFARequiredRequest,
  QueryMFARequiredResponse,
  SensitiveTransactionType,
} from '../../src/adapters/chain/generated/virtengine';

const REPO = join(__dirname, '../../..');
const ascii = (text: string) => toHex(new TextEncoder().encode(text));

/**
 * Golden vectors: bytes written out by hand from the protobuf wire format (tag = field << 3 |
 * wire type; varints little-endian base 128), not produced by the codec under test, so a codec
 * bug cannot agree with itself.
 */
describe('VirtEngine protobuf codecs: golden vectors', () => {
  it('QueryIdentityScoreRequest: field 1 string', () => {
    const bytes = QueryIdentityScoreRequest.encode({ accountAddress: 've1qy' }).finish();
    assert.equal(toHex(bytes), '0a05' + ascii('ve1qy'));
  });

  it('QueryIdentityScoreResponse: nested IdentityScore with uint32, enums, int64; found', () => {
    // score: 0a05 "ve1qy" | 10 48 (72) | 18 03 (VERIFIED) | 20 02 (STANDARD) | 30 80e2cfaa06 (1700000000)
    const inner = '0a05' + ascii('ve1qy') + '1048' + '1803' + '2002' + '3080e2cfaa06';
    const golden = '0a13' + inner + '1001';
    const message = QueryIdentityScoreResponse.fromPartial({
      score: { accountAddress: 've1qy', score: 72, status: 3, tier: 2, lastUpdatedAt: 1_700_000_000n },
      found: true,
    });
    assert.equal(toHex(QueryIdentityScoreResponse.encode(message).finish()), golden);
    const decoded = QueryIdentityScoreResponse.decode(fromHex(golden));
    assert.equal(decoded.found, true);
    assert.equal(decoded.score?.score, 72);
    assert.equal(decoded.score?.status, 3);
    assert.equal(decoded.score?.lastUpdatedAt, 1_700_000_000n);
    assert.equal(decoded.score?.blockHeight, 0n);
  });

  it('QueryIdentityScoreResponse: not found is the empty message', () => {
    assert.equal(QueryIdentityScoreResponse.encode(QueryIdentityScoreResponse.fromPartial({})).finish().length, 0);
    assert.equal(QueryIdentityScoreResponse.decode(new Uint8Array()).found, false);
  });

  it('QueryMFARequiredRequest: address and SensitiveTransactionType enum', () => {
    const bytes = QueryMFARequiredRequest.encode({ address: 've1qy', transactionType: SensitiveTransactionType.SENSITIVE_TX_API_KEY_GENERATION }).finish();
    assert.equal(toHex(bytes), '0a05' + ascii('ve1qy') + '1011');
  });

  it('QueryMFARequiredResponse: repeated FactorCombination with packed factors', () => {
    // required | combo {factors [5,2] packed, level HIGH} | combo {factors [1]} | min_veid_score 70
    const golden = '0801' + '1206' + '0a020502' + '1003' + '1203' + '0a0101' + '1846';
    const decoded = QueryMFARequiredResponse.decode(fromHex(golden));
    assert.deepEqual(
      decoded.factorCombinations.map((c) => c.factors),
      [[5, 2], [1]],
    );
    assert.equal(decoded.factorCombinations[0].minSecurityLevel, 3);
    assert.equal(decoded.minVeidScore, 70);
    assert.equal(toHex(QueryMFARequiredResponse.encode(decoded).finish()), golden);
  });

  it('AuthorizationSession: packed repeated enum, int64 varint, bool', () => {
    const golden = '0a02' + ascii('s1') + '1205' + ascii('ve1qy') + '1806' + '22020502' + '30ac02' + '4001';
    const session = AuthorizationSession.fromPartial({
      sessionId: 's1',
      accountAddress: 've1qy',
      transactionType: 6,
      verifiedFactors: [5, 2],
      expiresAt: 300n,
      isSingleUse: true,
    });
    assert.equal(toHex(AuthorizationSession.encode(session).finish()), golden);
  });

  it('AuthorizationSession: unpacked repeated enums decode too (proto2-style writers)', () => {
    const decoded = AuthorizationSession.decode(fromHex('2005' + '2002'));
    assert.deepEqual(decoded.verifiedFactors, [5, 2]);
  });

  it('MsgReportJobStatus: negative int32 is a 10-byte varint; nested usage metrics', () => {
    const golden = '0a05' + ascii('ve1qy') + '1205' + ascii('JOB-1') + '2004' + '30ffffffffffffffffff01' + '3a04' + '083c' + '4802';
    const message = MsgReportJobStatus.fromPartial({
      providerAddress: 've1qy',
      jobId: 'JOB-1',
      state: 4,
      exitCode: -1,
      usageMetrics: { wallClockSeconds: 60n, nodesUsed: 2 },
    });
    assert.equal(toHex(MsgReportJobStatus.encode(message).finish()), golden);
    assert.equal(MsgReportJobStatus.decode(fromHex(golden)).exitCode, -1);
  });

  it('HPCJob: fields outside our subset are skipped, not misread', () => {
    // job_id "JOB-1" | field 9 (workload_spec, not in our subset) {0a00} | state RUNNING | field 15 repeated Coin {}
    const decoded = HPCJob.decode(fromHex('0a05' + ascii('JOB-1') + '4a020a00' + '3803' + '7a00'));
    assert.equal(decoded.jobId, 'JOB-1');
    assert.equal(decoded.state, 3);
  });

  it('type URLs are "/" + the full protobuf name, and the registry knows our messages', () => {
    assert.equal(MsgReportJobStatus.typeUrl, '/virtengine.hpc.v1.MsgReportJobStatus');
    const registry = chainRegistry();
    const any = registry.encodeAsAny({ typeUrl: MsgReportJobStatus.typeUrl, value: { providerAddress: 've1qy', jobId: 'JOB-1', state: 4 } });
    assert.equal(any.typeUrl, '/virtengine.hpc.v1.MsgReportJobStatus');
    assert.equal(toHex(any.value), '0a05' + ascii('ve1qy') + '1205' + ascii('JOB-1') + '2004');
  });
});

describe('generated chain types', () => {
  it('the committed files match proto/ (run `npm run gen:chain-protos` after editing a .proto)', () => {
    const generated = generateChainTypes(REPO);
    assert.equal(readFileSync(join(REPO, GENERATED_PATHS.enums), 'utf8'), generated.enums);
    assert.equal(readFileSync(join(REPO, GENERATED_PATHS.messages), 'utf8'), generated.messages);
  });

  it('the proto reader refuses syntax it does not understand instead of dropping it', () => {
    assert.throws(() => parseProto('x.proto', 'syntax = "proto3"; package a.b; message M { map<string, string> m = 1; }'), /cannot read/);
    assert.throws(() => parseProto('x.proto', 'syntax = "proto3"; package a.b; import "y.proto"; message M { string s = 1; }'), /unsupported/);
  });
});
