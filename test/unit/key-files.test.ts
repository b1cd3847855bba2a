import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Secp256k1HdWallet } from '@cosmjs/amino';
import { directWallet, parseKeySecret, readKeyFile } from '../../src/adapters/chain/chain-wallet';
import { walletFromKeyFile } from '../../src/apps/cli/wallet-login-client';

describe('key files (login and chain signing share them)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'archipelago-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a hex private key gives the same account to the login signer and the transaction signer', async () => {
    const file = join(dir, 'hex.key');
    writeFileSync(file, '0x' + '01'.repeat(32) + '\n');
    const login = (await (await walletFromKeyFile(file, 've')).getAccounts())[0].address;
    const direct = (await (await directWallet(readKeyFile(file), 've')).getAccounts())[0].address;
    assert.equal(login, 've10xcqpzrky6eff2g52qdye53xkk9jxkvraapg0t');
    assert.equal(direct, login);
  });

  it('a mnemonic file (any whitespace) gives the account the mnemonic derives', async () => {
    const reference = await Secp256k1HdWallet.generate(12, { prefix: 've' });
    const file = join(dir, 'words.key');
    writeFileSync(file, reference.mnemonic.split(' ').join('\n  ') + '\n');
    const expected = (await reference.getAccounts())[0].address;
    assert.equal((await (await walletFromKeyFile(file, 've')).getAccounts())[0].address, expected);
    assert.equal((await (await directWallet(readKeyFile(file), 've')).getAccounts())[0].address, expected);
  });

  it('anything else is refused, naming the file but not echoing the secret', () => {
    assert.throws(() => parseKeySecret('01'.repeat(31)), /neither a mnemonic/);
    const file = join(dir, 'bad.key');
    writeFileSync(file, 'Secret Words That Are Not A Mnemonic');
    assert.throws(
      () => readKeyFile(file),
      (error: Error) => error.message.includes(file) && !error.message.includes('Secret'),
    );
  });
});
