import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { accountFromGetent, LocalPosixAccounts } from '../../src/adapters/slurm/posix-accounts';
import { parsePasswdLine, serviceAccountRefusal, tenantAccountRefusal, type PosixAccount } from '../../src/core/slurm/posix-user';
import { SlurmUnavailableError } from '../../src/core/slurm/slurm-client.port';
import { TenantAccounts } from '../../src/adapters/slurm/tenant-accounts';

const policy = { minUid: 1000, deniedUsers: new Set(['archipelago', 'svc-ci']) };
const alice: PosixAccount = { name: 'alice', uid: 1001, gid: 1001 };

describe('tenant account rules', () => {
  it("an account at or above the minimum uid, of nobody's service, may be a tenant", () => {
    assert.equal(tenantAccountRefusal('a', 'alice', alice, policy), null);
    assert.equal(tenantAccountRefusal('a', 'edge', { name: 'edge', uid: 1000, gid: 1 }, policy), null);
  });
  it('service accounts are refused by name, built-in or named by the island, whatever their uid', () => {
    for (const user of ['root', 'slurm', 'munge', 'slurmrest', 'nobody', 'archipelago', 'svc-ci']) {
      assert.equal(tenantAccountRefusal('a', user, { name: user, uid: 65534, gid: 1 }, policy)?.rule, 'service-account', user);
      assert.equal(serviceAccountRefusal(user, policy.deniedUsers)?.rule, 'service-account', user);
    }
    assert.equal(serviceAccountRefusal('alice', policy.deniedUsers), null);
  });
  it('system accounts (uid below the minimum) are refused, naming the uid and the island', () => {
    const refusal = tenantAccountRefusal('local-a', 'games', { name: 'games', uid: 5, gid: 60 }, policy);
    assert.equal(refusal?.rule, 'min-uid');
    assert.match(refusal!.reason, /uid 5 on island local-a, below its minimum uid 1000/);
  });
  it('an account the island does not have is refused as such', () => {
    assert.deepEqual(tenantAccountRefusal('local-b', 'ghost', null, policy), {
      rule: 'no-account',
      reason: 'the POSIX account "ghost" does not exist on island local-b',
    });
  });
});

describe('getent passwd answers', () => {
  it('parses an account line', () => {
    assert.deepEqual(parsePasswdLine('alice:x:1001:1002:Alice:/home/alice:/bin/bash\n'), { name: 'alice', uid: 1001, gid: 1002 });
    assert.equal(parsePasswdLine('garbage'), null);
    assert.equal(parsePasswdLine('a:x:y:1:::'), null);
  });
  it('exit 2 is "no such account"; anything odd is the island failing to answer', () => {
    assert.equal(accountFromGetent('ghost', 2, '', 'h'), null);
    assert.deepEqual(accountFromGetent('alice', 0, 'alice:x:1001:1001::/home/alice:/bin/sh\n', 'h'), { name: 'alice', uid: 1001, gid: 1001 });
    assert.throws(() => accountFromGetent('alice', 0, 'bob:x:1002:1002::/:/bin/sh\n', 'h'), SlurmUnavailableError);
    assert.throws(() => accountFromGetent('alice', 1, '', 'h'), SlurmUnavailableError);
    assert.throws(() => accountFromGetent('alice', null, '', 'h'), SlurmUnavailableError);
  });
  it("this machine's database, through the real getent", async () => {
    const local = new LocalPosixAccounts();
    assert.deepEqual(await local.lookupAccount('root'), { name: 'root', uid: 0, gid: 0 });
    assert.equal(await local.lookupAccount('no-such-user-h13'), null);
    await assert.rejects(local.lookupAccount('-rf'), /invalid POSIX user name/);
  });
});

describe('TenantAccounts', () => {
  const fake = (answers: Record<string, PosixAccount | null>) => {
    const asked: string[] = [];
    return {
      asked,
      lookupAccount: async (user: string) => {
        asked.push(user);
        await new Promise((resolve) => setImmediate(resolve));
        return answers[user] ?? null;
      },
    };
  };
  it('asks the island once per user and minute while the account is fit, concurrent checks sharing one question', async () => {
    let now = 0;
    const db = fake({ alice });
    const tenants = new TenantAccounts('a', policy, db, () => now);
    assert.deepEqual(await Promise.all([tenants.refusal('alice'), tenants.refusal('alice')]), [null, null]);
    assert.equal(await tenants.refusal('alice'), null);
    assert.deepEqual(db.asked, ['alice']);
    now += 60_001;
    assert.equal(await tenants.refusal('alice'), null);
    assert.deepEqual(db.asked, ['alice', 'alice']);
  });
  it('never keeps a refusal: the account created meanwhile is accepted at the next check', async () => {
    const answers: Record<string, PosixAccount | null> = {};
    const db = fake(answers);
    const tenants = new TenantAccounts('b', policy, db);
    assert.equal((await tenants.refusal('carol'))?.rule, 'no-account');
    answers.carol = { name: 'carol', uid: 1500, gid: 1500 };
    assert.equal(await tenants.refusal('carol'), null);
  });
  it('inspect asks now and says which account it found', async () => {
    const db = fake({ alice });
    const tenants = new TenantAccounts('a', policy, db);
    await tenants.refusal('alice');
    assert.deepEqual(await tenants.inspect('alice'), { account: alice, refusal: null });
    assert.equal(db.asked.length, 2);
  });
});
