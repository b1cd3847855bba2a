import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';

/**
 * The provider key that signs usage records: Ed25519, or secp256k1 ECDSA (Cosmos' curve), loaded
 * from a PEM (PKCS#8) file. The message signed is the record's 32-byte SHA-256 content hash
 * (secp256k1: ECDSA-SHA256 over those bytes, as Cosmos signs sha256(message); the signature is the
 * 64-byte r||s Cosmos uses). Ed25519 signatures are 64 bytes too.
 * The key file is plain PEM today: keeping it encrypted at rest is issue #8's.
 */
export type SignatureAlgorithm = 'ed25519' | 'secp256k1';

export interface UsageSigner {
  algorithm: SignatureAlgorithm;
  /** SPKI DER, base64: what a verifier needs. */
  publicKey: string;
  sign(contentHashHex: string): Buffer;
}

export function usageSignerFromPem(pem: string | Buffer): UsageSigner {
  const key = createPrivateKey(pem);
  const algorithm = algorithmOf(key);
  const publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    algorithm,
    publicKey,
    sign: (hash) => (algorithm === 'ed25519' ? sign(null, digest(hash), key) : sign('sha256', digest(hash), { key, dsaEncoding: 'ieee-p1363' })),
  };
}

export function verifyUsageSignature(algorithm: SignatureAlgorithm, publicKeyBase64: string, contentHashHex: string, signature: Buffer): boolean {
  const key = createPublicKey({ key: Buffer.from(publicKeyBase64, 'base64'), format: 'der', type: 'spki' });
  if (algorithmOf(key) !== algorithm) return false;
  return algorithm === 'ed25519'
    ? verify(null, digest(contentHashHex), key, signature)
    : verify('sha256', digest(contentHashHex), { key, dsaEncoding: 'ieee-p1363' }, signature);
}

function algorithmOf(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp256k1') return 'secp256k1';
  throw new Error(
    `usage signing key must be Ed25519 or secp256k1, not ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''}`,
  );
}

function digest(hex: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error('content hash must be 64 lowercase hex digits');
  return Buffer.from(hex, 'hex');
}
