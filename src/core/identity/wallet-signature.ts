import { makeSignDoc, pubkeyToAddress, serializeSignDoc, StdSignDoc } from '@cosmjs/amino';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import { fromBase64, toBase64 } from '@cosmjs/encoding';

/**
 * Password-less login with a wallet: the service issues a challenge, the wallet signs its text
 * with ADR-036 `signArbitrary` (what Keplr, Leap and cosmjs amino wallets do), and the server
 * checks the key derives the address and the signature verifies. Pure functions; no I/O.
 */
export interface Challenge {
  domain: string;
  address: string;
  nonce: string;
  issuedAt: Date;
  expiresAt: Date;
}

const INTRO = ' wants you to sign in with your VirtEngine account:';

/** The text the wallet signs (SIWE-like, so a human sees where and until when it is valid). */
export function challengeText(c: Challenge): string {
  return [
    `${c.domain}${INTRO}`,
    c.address,
    '',
    'Sign in to Archipelago. This request will not trigger a blockchain transaction or cost any fee.',
    '',
    `URI: https://${c.domain}`,
    `Nonce: ${c.nonce}`,
    `Issued At: ${c.issuedAt.toISOString()}`,
    `Expiration Time: ${c.expiresAt.toISOString()}`,
  ].join('\n');
}

/** The fields a signed text claims, read without trusting it (to say why it is refused). */
export function claimedFields(text: string): { domain: string | null; nonce: string | null } {
  const first = text.split('\n', 1)[0] ?? '';
  const domain = first.endsWith(INTRO) ? first.slice(0, -INTRO.length) : null;
  const nonce = /^Nonce: (\S+)$/m.exec(text)?.[1] ?? null;
  return { domain, nonce };
}

/** The ADR-036 amino sign doc for arbitrary data: chain id "", zero account/sequence/fee, one sign/MsgSignData. */
export function adr36SignDoc(signer: string, data: string): StdSignDoc {
  return makeSignDoc([{ type: 'sign/MsgSignData', value: { signer, data: toBase64(new TextEncoder().encode(data)) } }], { gas: '0', amount: [] }, '', '', 0, 0);
}

export interface WalletSignature {
  /** Base64 33-byte compressed secp256k1 key (`pub_key.value` of a StdSignature). */
  pubKey: string;
  /** Base64 64-byte r||s. */
  signature: string;
}

export type SignatureVerdict = 'ok' | 'key_not_address' | 'malformed' | 'bad_signature';

export async function verifyWalletSignature(prefix: string, address: string, text: string, presented: WalletSignature): Promise<SignatureVerdict> {
  let pubkey: Uint8Array;
  let signature: Uint8Array;
  try {
    pubkey = fromBase64(presented.pubKey);
    signature = fromBase64(presented.signature);
  } catch {
    return 'malformed';
  }
  if (pubkey.length !== 33 || (pubkey[0] !== 2 && pubkey[0] !== 3) || signature.length !== 64) return 'malformed';
  if (pubkeyToAddress({ type: 'tendermint/PubKeySecp256k1', value: presented.pubKey }, prefix) !== address) return 'key_not_address';
  const digest = sha256(serializeSignDoc(adr36SignDoc(address, text)));
  try {
    // Awaited: @cosmjs/crypto <= 0.32 returns a Promise here, which would always be truthy.
    const valid = await Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(signature), digest, pubkey);
    return valid ? 'ok' : 'bad_signature';
  } catch {
    // Not a point on the curve, or r/s out of range.
    return 'bad_signature';
  }
}
