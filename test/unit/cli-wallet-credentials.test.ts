import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WalletCredentials, type WalletCredentialsState } from '../../src/apps/cli/credentials';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();
const state = (over: Partial<WalletCredentialsState> = {}): WalletCredentialsState => ({
  kind: 'wallet',
  address: 've1abc',
  sessionToken: 'st_1',
  refreshToken: 'rt_1',
  expiresAt: at(600_000),
  refreshExpiresAt: at(86_400_000),
  ...over,
});

describe('CLI wallet credentials', () => {
  it('uses the session while it is valid, without refreshing', async () => {
    let refreshes = 0;
    const c = new WalletCredentials(
      state(),
      async () => {
        refreshes++;
        throw new Error('no');
      },
      () => undefined,
      () => NOW,
    );
    assert.equal(await c.authorization(), 'Bearer st_1');
    assert.equal(refreshes, 0);
    assert.equal(c.description, 'wallet ve1abc');
  });

  it('refreshes shortly before expiry with the single-use refresh token, saves the new pair, then uses it', async () => {
    const used: string[] = [];
    const saved: WalletCredentialsState[] = [];
    const c = new WalletCredentials(
      state({ expiresAt: at(10_000) }),
      async (token) => {
        used.push(token);
        return { sessionToken: 'st_2', refreshToken: 'rt_2', expiresAt: at(900_000), refreshExpiresAt: at(86_400_000) };
      },
      (s) => saved.push(s),
      () => NOW,
    );
    assert.equal(await c.authorization(), 'Bearer st_2');
    assert.equal(await c.authorization(), 'Bearer st_2', 'refreshed once, not on every request');
    assert.deepEqual(used, ['rt_1']);
    assert.equal(saved.length, 1);
    assert.equal(saved[0].refreshToken, 'rt_2');
    assert.equal(saved[0].address, 've1abc');
  });

  it('asks for a new login once the refresh token expired too', async () => {
    const c = new WalletCredentials(
      state({ expiresAt: at(-1), refreshExpiresAt: at(-1) }),
      async () => assert.fail('must not refresh'),
      () => undefined,
      () => NOW,
    );
    await assert.rejects(c.authorization(), (e: any) => e.exitCode === 77 && /login/.test(e.message));
  });
});
