#!/usr/bin/env node
/**
 * `npm run up`'s development wallet: a wallet (its mnemonic in DIR/wallet.mnemonic, mode 600) and
 * the development identity file DIR/dev-identities.json that maps it to a POSIX account with a
 * VERIFIED score high enough for every tier but premium, so `archipelago login --mnemonic-file`
 * then `archipelago sbatch` work on the local stack without a chain. Idempotent: an existing
 * wallet and an existing file are kept (other accounts an admin added stay), the wallet's own
 * entry is added if it is missing. Prints {"address", "mnemonicFile", "identityFile"}.
 *
 *   node dist/src/apps/devstack/dev-wallet.js DIR [--slurm-user alice] [--prefix ve]
 */
import { Secp256k1HdWallet } from '@cosmjs/amino';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDevIdentityFile } from '../../features/identity/dev-identity-source';

/** standard tier (70) is what multi-node and GPU jobs need by default; 80 clears it with room. */
const DEV_SCORE = 80;

export async function ensureDevWallet(dir: string, slurmUser: string, prefix: string) {
  const mnemonicFile = join(dir, 'wallet.mnemonic');
  const identityFile = join(dir, 'dev-identities.json');
  if (!existsSync(mnemonicFile)) {
    const fresh = await Secp256k1HdWallet.generate(12, { prefix });
    writeFileSync(mnemonicFile, `${fresh.mnemonic}\n`, { mode: 0o600 });
  }
  const wallet = await Secp256k1HdWallet.fromMnemonic(readFileSync(mnemonicFile, 'utf8').trim(), { prefix });
  const [{ address }] = await wallet.getAccounts();
  const text = existsSync(identityFile) ? readFileSync(identityFile, 'utf8') : '{}';
  const parsed = parseDevIdentityFile(text, identityFile); // refuses a broken file instead of overwriting it
  if (!parsed.accounts[address]) {
    const raw = JSON.parse(text);
    raw.accounts = { ...(raw.accounts ?? {}), [address]: { score: DEV_SCORE, status: 'VERIFIED', slurmUser } };
    writeFileSync(identityFile, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });
  }
  return { address, mnemonicFile, identityFile };
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    options: { 'slurm-user': { type: 'string', default: 'alice' }, prefix: { type: 'string', default: 've' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: dev-wallet DIR [--slurm-user alice] [--prefix ve]\n');
    process.exit(64);
  }
  ensureDevWallet(positionals[0], values['slurm-user']!, values.prefix!).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      process.stderr.write(`dev-wallet: ${error instanceof Error ? error.message : error}\n`);
      process.exit(1);
    },
  );
}
