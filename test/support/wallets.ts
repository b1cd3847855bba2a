import { Secp256k1HdWallet, StdSignature } from '@cosmjs/amino';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { signArbitrary } from '../../src/apps/cli/wallet-login-client';

/** A fresh VirtEngine account: the amino wallet signs logins, the direct wallet (same key) signs transactions. */
export interface TestWallet {
  address: string;
  mnemonic: string;
  amino: Secp256k1HdWallet;
  direct: DirectSecp256k1HdWallet;
  signArbitrary(text: string): Promise<StdSignature>;
}

export async function newWallet(prefix = 've'): Promise<TestWallet> {
  const amino = await Secp256k1HdWallet.generate(12, { prefix });
  const direct = await DirectSecp256k1HdWallet.fromMnemonic(amino.mnemonic, { prefix });
  const [{ address }] = await amino.getAccounts();
  return { address, mnemonic: amino.mnemonic, amino, direct, signArbitrary: (text) => signArbitrary(amino, address, text) };
}
