import assert from 'node:assert/strict';
import { createECDH, createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { Secp256k1HdWallet, Secp256k1Wallet, serializeSignDoc } from '@cosmjs/amino';
import { fromHex, toBase64, toHex } from '@cosmjs/encoding';
import { sha256 } from '@cosmjs/crypto';
import { DirectSecp256k1Wallet, makeSignBytes, makeSignDoc } from '@cosmjs/proto-signing';
import { signArbitrary } from '../../src/apps/cli/wallet-login-client';
import { adr36SignDoc, challengeText, claimedFields, verifyWalletSignature } from '../../src/core/identity/wallet-signature';

const challenge = {
  domain: 'archipelago.test',
  address: '',
  nonce: 'n0nce',
  issuedAt: new Date('2026-11-25T16:00:00Z'),
  expiresAt: new Date('2026-11-25T16:05:00Z'),
};

describe('ADR-036 wallet signatures', () => {
  it('a cosmjs amino wallet signature verifies; a changed text, address or prefix does not', async () => {
    const wallet = await Secp256k1HdWallet.generate(12, { prefix: 've' });
    const [{ address }] = await wallet.getAccounts();
    const text = challengeText({ ...challenge, address });
    const sig = await signArbitrary(wallet, address, text);
    const presented = { pubKey: sig.pub_key.value, signature: sig.signature };
    assert.equal(await verifyWalletSignature('ve', address, text, presented), 'ok');
    assert.equal(await verifyWalletSignature('ve', address, text.replace('n0nce', 'n0nc3'), presented), 'bad_signature');
    const other = (await (await Secp256k1HdWallet.generate(12, { prefix: 've' })).getAccounts())[0].address;
    assert.equal(await verifyWalletSignature('ve', other, text, presented), 'key_not_address');
    assert.equal(await verifyWalletSignature('virtengine', address, text, presented), 'key_not_address', 'the prefix is part of the address');
    assert.equal(await verifyWalletSignature('ve', address, text, { ...presented, signature: toBase64(new Uint8Array(64)) }), 'bad_signature');
    assert.equal(await verifyWalletSignature('ve', address, text, { ...presented, signature: 'not base64!' }), 'malformed');
    assert.equal(await verifyWalletSignature('ve', address, text, { ...presented, pubKey: toBase64(new Uint8Array(33)) }), 'malformed');
  });

  it('the sign doc is the ADR-036 one, byte for byte (sorted amino JSON)', () => {
    const doc = serializeSignDoc(adr36SignDoc('ve1signer', 'hi'));
    assert.equal(
      new TextDecoder().decode(doc),
      '{"account_number":"0","chain_id":"","fee":{"amount":[],"gas":"0"},"memo":"","msgs":[{"type":"sign/MsgSignData","value":{"data":"aGk=","signer":"ve1signer"}}],"sequence":"0"}',
    );
  });

  it('golden vector: a fixed key signs a fixed challenge to fixed bytes (RFC 6979)', async () => {
    const wallet = await Secp256k1Wallet.fromKey(fromHex('0101010101010101010101010101010101010101010101010101010101010101'), 've');
    const [{ address }] = await wallet.getAccounts();
    assert.equal(address, 've10xcqpzrky6eff2g52qdye53xkk9jxkvraapg0t');
    const sig = await signArbitrary(wallet, address, challengeText({ ...challenge, address }));
    assert.equal(sig.pub_key.value, toBase64(FIXED_PUBKEY));
    assert.equal(sig.signature, GOLDEN_SIGNATURE);
    // Checked independently of cosmjs, with OpenSSL: ECDSA-SHA256 over the serialized sign doc.
    const doc = serializeSignDoc(adr36SignDoc(address, challengeText({ ...challenge, address })));
    assert.ok(verifyWithOpenSsl(doc, sig.pub_key.value, sig.signature));
  });

  it('reads the claimed domain and nonce of a text without trusting it', () => {
    const text = challengeText({ ...challenge, address: 've1x' });
    assert.deepEqual(claimedFields(text), { domain: 'archipelago.test', nonce: 'n0nce' });
    assert.deepEqual(claimedFields('hello'), { domain: null, nonce: null });
  });
});

describe('SIGN_MODE_DIRECT golden vector', () => {
  it('SignDoc bytes are fields 1-4 of cosmos.tx.v1beta1.SignDoc; the signature over them is fixed', async () => {
    const body = fromHex('0a00');
    const authInfo = fromHex('1200');
    const signBytes = makeSignBytes(makeSignDoc(body, authInfo, 'virtengine-1', 7));
    // 0a02 0a00 | 1202 1200 | 1a0c "virtengine-1" | 2007
    assert.equal(toHex(signBytes), '0a020a00' + '12021200' + '1a0c' + toHex(new TextEncoder().encode('virtengine-1')) + '2007');
    const wallet = await DirectSecp256k1Wallet.fromKey(fromHex('0101010101010101010101010101010101010101010101010101010101010101'), 've');
    const [{ address }] = await wallet.getAccounts();
    const { signature } = await wallet.signDirect(address, { bodyBytes: body, authInfoBytes: authInfo, chainId: 'virtengine-1', accountNumber: 7n });
    assert.equal(toHex(sha256(signBytes)), GOLDEN_SIGN_DIGEST);
    assert.equal(signature.signature, GOLDEN_DIRECT_SIGNATURE);
    assert.ok(verifyWithOpenSsl(signBytes, toBase64(FIXED_PUBKEY), signature.signature));
    assert.ok(
      !verifyWithOpenSsl(makeSignBytes(makeSignDoc(body, authInfo, 'virtengine-2', 7)), toBase64(FIXED_PUBKEY), signature.signature),
      'another chain id, another doc',
    );
  });
});

/** The compressed public key of private key 0x01…01, computed by OpenSSL (node:crypto ECDH), not cosmjs. */
const FIXED_PUBKEY = (() => {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(Buffer.alloc(32, 1));
  return ecdh.getPublicKey(null, 'compressed');
})();

/** secp256k1 SubjectPublicKeyInfo prefix for a 33-byte compressed point. */
const SPKI_SECP256K1 = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex');

function verifyWithOpenSsl(data: Uint8Array, pubKeyBase64: string, signatureBase64: string): boolean {
  const key = createPublicKey({ key: Buffer.concat([SPKI_SECP256K1, Buffer.from(pubKeyBase64, 'base64')]), format: 'der', type: 'spki' });
  return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureBase64, 'base64'));
}

const GOLDEN_SIGNATURE = '1nxAl4LN/ZHNG6SDsoZAbKiyIAtNDeXSSJ0YHMYYa31Vl3dwDL58kVUnGlpfjO7BhoXIxoHF1vduFln98uCEig==';
const GOLDEN_SIGN_DIGEST = '7fcd8b738f5df118708e4a408de0e05ad4887ee33324b5b813c5074788487ac2';
const GOLDEN_DIRECT_SIGNATURE = 'g9lYN59JVDnSI7iqVOS/Wa6fc3TzNaeNXpHMUmPiacF0m+tvY76FXcJll4ppZI0CXM4YWRb3Q7sMwbUEahR3zw==';
