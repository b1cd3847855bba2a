import { readSecretFile } from '../secrets/sealed-file';
import { fromHex } from '@cosmjs/encoding';
import type { OfflineDirectSigner } from '@cosmjs/proto-signing';

/** What a key file holds: a BIP-39 mnemonic (12-24 words) or a 32-byte secp256k1 private key in hex. */
export type KeySecret = { privateKey: Uint8Array } | { mnemonic: string };

export function parseKeySecret(text: string): KeySecret {
  const secret = text.trim();
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(secret)) return { privateKey: fromHex(secret.replace(/^0x/, '')) };
  if (/^[a-z]+(\s+[a-z]+){11,23}$/.test(secret)) return { mnemonic: secret.split(/\s+/).join(' ') };
  throw new Error('holds neither a mnemonic (12-24 words) nor a hex private key');
}

export function readKeyFile(path: string): KeySecret {
  try {
    return parseKeySecret(readSecretFile(path).toString('utf8'));
  } catch (error) {
    throw new Error(`key file ${path}: ${(error as Error).message}`);
  }
}

/**
 * The signer for our own chain transactions (SIGN_MODE_DIRECT). The secret is never logged. cosmjs's
 * signing code is loaded on first use: configuration reads key files in every process, most never sign.
 */
export async function directWallet(secret: KeySecret, prefix: string): Promise<OfflineDirectSigner> {
  const { DirectSecp256k1HdWallet, DirectSecp256k1Wallet } = await import('@cosmjs/proto-signing');
  return 'privateKey' in secret ? DirectSecp256k1Wallet.fromKey(secret.privateKey, prefix) : DirectSecp256k1HdWallet.fromMnemonic(secret.mnemonic, { prefix });
}
