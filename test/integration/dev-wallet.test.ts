import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, REPO } from '../support/control-plane';
import { newWallet } from '../support/wallets';

const CLI = join(REPO, 'dist/src/apps/cli/main.js');
const DEV_WALLET = join(REPO, 'dist/src/apps/devstack/dev-wallet.js');

/**
 * The local stack's wallet path, as `npm run up` sets it up: the development wallet and identity
 * file written by dev-wallet.js, a CLI wallet login with that mnemonic, a submission; and an
 * unmapped wallet, refused with the exact remedy, which the CLI prints as the API wrote it.
 */
describe('development wallet of the local stack (npm run up)', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'archipelago-dev-wallet-'));
  const stack = join(dir, 'stack');
  let cp: ControlPlane;
  let created: { address: string; mnemonicFile: string; identityFile: string };
  const jobs: string[] = [];

  const cli = (home: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ARCHIPELAGO_URL: cp.url };
      const child = spawn(process.execPath, [CLI, ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input);
    });

  const devWallet = () => {
    const run = spawnSync(process.execPath, [DEV_WALLET, stack, '--slurm-user', 'alice'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout);
  };

  before(async () => {
    spawnSync('mkdir', ['-p', stack]);
    created = devWallet();
    cp = new ControlPlane('dev_wallet', {
      islands: [{ name: 'local-a' }],
      redisDb: 1,
      env: { CHAIN_RPC_URL: '', ARCHIPELAGO_DEV_IDENTITY_FILE: created.identityFile, ARCHIPELAGO_VEID_CACHE_MS: '0' },
    });
    await cp.start();
  });
  after(async () => {
    for (const id of jobs) await cp.request('DELETE', `/v1/jobs/${id}`, cp.adminKey).catch(() => undefined);
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a private mnemonic and an identity file mapping its wallet to alice, and keeps both on a second run', () => {
    assert.equal(statSync(created.mnemonicFile).mode & 0o777, 0o600);
    const file = JSON.parse(readFileSync(created.identityFile, 'utf8'));
    assert.deepEqual(file.accounts[created.address], { score: 80, status: 'VERIFIED', slurmUser: 'alice' });
    const mnemonic = readFileSync(created.mnemonicFile, 'utf8');
    assert.deepEqual(devWallet(), created);
    assert.equal(readFileSync(created.mnemonicFile, 'utf8'), mnemonic);
  });

  it('the wallet logs in with the CLI and submits at once', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const login = await cli(home, ['login', '--mnemonic-file', created.mnemonicFile]);
    assert.equal(login.code, 0, login.stderr);
    const submitted = await cli(home, ['sbatch', '--hold', '--parsable', '-t', '1'], '#!/bin/bash\ntrue\n');
    assert.equal(submitted.code, 0, submitted.stderr);
    jobs.push(submitted.stdout.trim());
    const shown = await cli(home, ['scontrol', 'show', 'job', submitted.stdout.trim()]);
    assert.match(shown.stdout, /UserId=alice/);
  });

  it('an unmapped wallet is refused with what an admin must do, printed by the CLI; once done, it works', async () => {
    const stranger = await newWallet();
    const home = mkdtempSync(join(dir, 'home-'));
    const mnemonicFile = join(home, 'mnemonic');
    writeFileSync(mnemonicFile, `${stranger.mnemonic}\n`, { mode: 0o600 });
    assert.equal((await cli(home, ['login', '--mnemonic-file', mnemonicFile])).code, 0);

    const refused = await cli(home, ['sbatch', '--hold', '-t', '1'], '#!/bin/bash\ntrue\n');
    assert.equal(refused.code, 77, refused.stderr);
    const remedy = `a platform admin must map this wallet to its POSIX account on the islands: PUT /v1/wallet-accounts/${stranger.address} with {"slurmUser": "<account>"}`;
    assert.ok(refused.stderr.includes(`  remedy: ${remedy}`), refused.stderr);

    const mapped = await cp.request('PUT', `/v1/wallet-accounts/${stranger.address}`, cp.adminKey, { slurmUser: 'alice' });
    assert.equal(mapped.status, 200, mapped.text);
    const unverified = await cli(home, ['sbatch', '--hold', '-t', '1', '--json'], '#!/bin/bash\ntrue\n');
    assert.equal(unverified.code, 77, unverified.stderr);
    assert.ok(
      unverified.stderr.includes(
        `  remedy: development identity source (no chain): add or edit "${stranger.address}": {"score": 50, "status": "VERIFIED"} under "accounts" in ${created.identityFile}`,
      ),
      unverified.stderr,
    );

    const file = JSON.parse(readFileSync(created.identityFile, 'utf8'));
    file.accounts[stranger.address] = { score: 50, status: 'VERIFIED' };
    writeFileSync(created.identityFile, JSON.stringify(file));
    const accepted = await cli(home, ['sbatch', '--hold', '--parsable', '-t', '1'], '#!/bin/bash\ntrue\n');
    assert.equal(accepted.code, 0, accepted.stderr);
    jobs.push(accepted.stdout.trim());
  });
});
