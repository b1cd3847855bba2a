import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it as test } from 'node:test';
import { toBech32 } from '@cosmjs/encoding';
import type { OfflineDirectSigner } from '@cosmjs/proto-signing';
import { calculateFee, GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { ChainSettings } from '../../src/adapters/chain/chain-settings';
import { VirtEngineChainClient } from '../../src/adapters/chain/chain-client';
import { ChainQueryError, WrongChainError } from '../../src/adapters/chain/chain-port';
import { chainRegistry } from '../../src/adapters/chain/chain-registry';
import {
  MsgCancelJob,
  QueryIdentityScoreRequest,
  QueryIdentityScoreResponse,
  QueryJobRequest,
  QueryJobResponse,
  QueryJobsRequest,
  QueryJobsResponse,
  SensitiveTransactionType,
} from '../../src/adapters/chain/generated/virtengine';
import { defineMessage } from '../../src/adapters/chain/proto-codec';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';

export interface ChainTarget {
  settings: ChainSettings & { rpcUrl: string };
  /** A funded account on the target chain. */
  wallet: OfflineDirectSigner;
}

/**
 * What must hold of any VirtEngine node our client talks to: the fake in every run, a real chain
 * when CHAIN_RPC_URL is set. Only assertions a real chain can satisfy without test knobs belong
 * here; the fake's knob-driven behaviour is tested beside it.
 */
export function chainContract(target: () => ChainTarget, skip: string | false = false): void {
  const it = (name: string, body: () => Promise<void>) => test(name, { skip }, body);
  const client = () => new VirtEngineChainClient(target().settings);
  const address = async () => (await target().wallet.getAccounts())[0].address;
  const stranger = () => toBech32(target().settings.bech32Prefix, randomBytes(20));
  const selfSend = async () => ({
    typeUrl: '/cosmos.bank.v1beta1.MsgSend',
    value: { fromAddress: await address(), toAddress: await address(), amount: [{ denom: target().settings.denom, amount: '1' }] },
  });

  it('serves the configured chain id', async () => {
    assert.equal(await client().chainId(), target().settings.chainId);
  });

  it("x/veid's store holds no score for an address with no identity", async () => {
    assert.equal(await client().identityScore(stranger()), null);
  });

  it('Query/IdentityScore and Query/IdentityStatus are not implemented (gRPC Unimplemented as unknown request)', async () => {
    for (const method of ['IdentityScore', 'IdentityStatus']) {
      const answer = client().query(
        `/virtengine.veid.v1.Query/${method}`,
        QueryIdentityScoreRequest,
        { accountAddress: stranger() },
        QueryIdentityScoreResponse,
      );
      await assert.rejects(answer, (error: unknown) => error instanceof ChainQueryError && new RegExp(`method ${method} not implemented`).test(error.message));
    }
  });

  it('MFARequired decodes for an unknown address', async () => {
    const answer = await client().mfaRequired(stranger(), SensitiveTransactionType.SENSITIVE_TX_API_KEY_GENERATION);
    assert.equal(typeof answer.required, 'boolean');
    assert.ok(Array.isArray(answer.factorCombinations));
  });

  it('an unknown MFA session is a refusal naming x/mfa\'s "authorization session not found" (never found=false)', async () => {
    const missing = client().mfaSession(`no-such-session-${randomBytes(6).toString('hex')}`);
    await assert.rejects(missing, (error: unknown) => error instanceof ChainQueryError && /authorization session not found/.test(error.message));
  });

  it('Query/Job and Query/Jobs are not implemented (gRPC Unimplemented as unknown request)', async () => {
    const answers = [
      client().query('/virtengine.hpc.v1.Query/Job', QueryJobRequest, { jobId: 'hpc-job-1' }, QueryJobResponse),
      client().query('/virtengine.hpc.v1.Query/Jobs', QueryJobsRequest, {}, QueryJobsResponse),
    ];
    for (const [i, answer] of answers.entries()) {
      const method = i === 0 ? 'Job' : 'Jobs';
      await assert.rejects(answer, (error: unknown) => error instanceof ChainQueryError && new RegExp(`method ${method} not implemented`).test(error.message));
    }
  });

  it("x/hpc's store holds no job under an unknown id (empty value, not an error)", async () => {
    assert.equal(await client().hpcJob(`hpc-job-none-${randomBytes(6).toString('hex')}`), null);
  });

  it("every job x/hpc's store lists decodes, and each reads back alone under its own key", async () => {
    const jobs = await client().hpcJobs();
    for (const stored of jobs) {
      assert.ok(stored.job.jobId && stored.job.state > 0, JSON.stringify(stored.job));
    }
    if (jobs.length > 0) assert.deepEqual((await client().hpcJob(jobs[0].job.jobId))?.job, jobs[0].job);
  });

  it('signs and broadcasts a transaction that lands in a block, and the sequence advances', async () => {
    const signer = await client().signer(target().wallet);
    const before = await (await SigningStargateClient.connect(target().settings.rpcUrl)).getSequence(await address());
    const result = await signer.signAndBroadcast([await selfSend()], 'archipelago contract');
    assert.equal(result.code, 0, result.rawLog);
    assert.ok(result.height > 0);
    const after = await (await SigningStargateClient.connect(target().settings.rpcUrl)).getSequence(await address());
    assert.equal(after.sequence, before.sequence + 1);
    assert.equal(after.accountNumber, before.accountNumber);
  });

  it('the node refuses a transaction signed for another chain id (signature verification)', async () => {
    const { settings, wallet } = target();
    const stargate = await SigningStargateClient.connectWithSigner(settings.rpcUrl, wallet, { registry: chainRegistry() });
    const { accountNumber, sequence } = await stargate.getSequence(await address());
    const fee = calculateFee(200_000, GasPrice.fromString(settings.gasPrice));
    const signed = await stargate.sign(await address(), [await selfSend()], fee, '', { accountNumber, sequence, chainId: `${settings.chainId}-other` });
    await assert.rejects(stargate.broadcastTxSync(encodeTx(signed)), (error: Error) => {
      assert.match(error.message, /code 4\b/);
      assert.match(error.message, /signature verification failed/);
      return true;
    });
  });

  it('the node refuses a second transaction with an already used sequence', async () => {
    const { settings, wallet } = target();
    const stargate = await SigningStargateClient.connectWithSigner(settings.rpcUrl, wallet, { registry: chainRegistry() });
    const { accountNumber, sequence } = await stargate.getSequence(await address());
    const fee = calculateFee(200_000, GasPrice.fromString(settings.gasPrice));
    const signerData = { accountNumber, sequence, chainId: settings.chainId };
    const first = await stargate.sign(await address(), [await selfSend()], fee, 'first', signerData);
    const second = await stargate.sign(await address(), [await selfSend()], fee, 'second', signerData);
    await stargate.broadcastTxSync(encodeTx(first));
    await assert.rejects(stargate.broadcastTxSync(encodeTx(second)), (error: Error) => {
      assert.match(error.message, /code 32\b/);
      assert.match(error.message, /account sequence mismatch/);
      return true;
    });
  });

  it("a fee below the chain's current minimum gas price is refused in CheckTx, and our client signs at or above it", async () => {
    const { settings, wallet } = target();
    const stargate = await SigningStargateClient.connectWithSigner(settings.rpcUrl, wallet, { registry: chainRegistry() });
    const { accountNumber, sequence } = await stargate.getSequence(await address());
    const cheap = calculateFee(200_000, GasPrice.fromString(`0.000000000000000001${settings.denom}`));
    const signed = await stargate.sign(await address(), [await selfSend()], cheap, '', { accountNumber, sequence, chainId: settings.chainId });
    await assert.rejects(stargate.broadcastTxSync(encodeTx(signed)), /insufficient fee/);
    const price = await client().gasPrice();
    assert.ok(price.amount.toFloatApproximation() > 0);
  });

  it("x/hpc's reward records decode (store prefix 0x08)", async () => {
    for (const reward of await client().hpcRewards()) assert.ok(reward.jobId, JSON.stringify(reward));
  });

  it('MsgCancelJob of a job x/hpc does not hold is refused with 2106 (simulation: nothing is sent)', async () => {
    const signer = await client().signer(target().wallet);
    const cancel = {
      typeUrl: MsgCancelJob.typeUrl,
      value: MsgCancelJob.fromPartial({ requesterAddress: await address(), jobId: `JOB-none-${randomBytes(6).toString('hex')}` }),
    };
    await assert.rejects(signer.prepare([cancel]), (error: unknown) => error instanceof ChainQueryError && /HPC job not found/.test(error.message));
  });

  it('our client will not sign for a node that serves another chain', async () => {
    const { settings, wallet } = target();
    const misconfigured = new VirtEngineChainClient({ ...settings, chainId: `${settings.chainId}-expected` });
    await assert.rejects(misconfigured.signer(wallet), WrongChainError);
  });

  it('a failing query is a ChainQueryError with the node\'s code, not "unavailable"', async () => {
    const empty = defineMessage<Record<string, never>>('virtengine.nosuch.v1.Empty', []);
    const noSuchService = client().query('/virtengine.nosuch.v1.Query/Nothing', empty, {}, empty);
    await assert.rejects(noSuchService, (error: unknown) => error instanceof ChainQueryError && error.code > 0);
  });
}

function encodeTx(signed: TxRaw): Uint8Array {
  return TxRaw.encode(signed).finish();
}
