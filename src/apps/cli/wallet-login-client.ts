import { OfflineAminoSigner, Secp256k1HdWallet, Secp256k1Wallet, StdSignature } from '@cosmjs/amino';
import { readKeyFile } from '../../adapters/chain/chain-wallet';
import { adr36SignDoc } from '../../core/identity/wallet-signature';

/**
 * Logging in to Archipelago from a script or the CLI with a VirtEngine key: ask for a challenge,
 * sign it the way wallets' `signArbitrary` do (ADR-036, amino JSON), exchange it for tokens.
 */
export interface WalletSession {
  tokenType: 'Bearer';
  sessionToken: string;
  refreshToken: string;
  expiresAt: string;
  refreshExpiresAt: string;
  principal: { id: string; kind: string; chainAddress: string; slurmUser: string | null };
}

export function walletFromMnemonic(mnemonic: string, prefix = 've'): Promise<Secp256k1HdWallet> {
  return Secp256k1HdWallet.fromMnemonic(mnemonic.trim().split(/\s+/).join(' '), { prefix });
}

/** The login signer (amino, as wallets' signArbitrary) from a key file: a mnemonic or a hex private key. */
export function walletFromKeyFile(path: string, prefix = 've'): Promise<OfflineAminoSigner> {
  const secret = readKeyFile(path);
  return 'privateKey' in secret ? Secp256k1Wallet.fromKey(secret.privateKey, prefix) : walletFromMnemonic(secret.mnemonic, prefix);
}

/** ADR-036 signArbitrary: what Keplr/Leap return for `signArbitrary(chainId, address, text)`. */
export async function signArbitrary(wallet: OfflineAminoSigner, address: string, text: string): Promise<StdSignature> {
  return (await wallet.signAmino(address, adr36SignDoc(address, text))).signature;
}

export async function walletLogin(baseUrl: string, wallet: OfflineAminoSigner): Promise<WalletSession> {
  const [{ address }] = await wallet.getAccounts();
  const challenge = await postJson(baseUrl, '/v1/auth/challenge', { address });
  const signature = await signArbitrary(wallet, address, challenge.message);
  return postJson(baseUrl, '/v1/auth/login', { address, message: challenge.message, signature });
}

async function postJson(baseUrl: string, path: string, body: unknown): Promise<any> {
  const response = await fetch(new URL(path, baseUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}
