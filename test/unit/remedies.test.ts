import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem } from '../../src/apps/cli/format';
import { developmentScoreRemedy, unmappedWalletRemedy } from '../../src/core/identity/remedies';

describe('remedies for refused wallets', () => {
  it('tells the admin the exact call that maps an unmapped wallet', () => {
    const text = unmappedWalletRemedy('ve1abc');
    assert.match(
      text,
      /^a platform admin must map this wallet to its POSIX account on the islands: PUT \/v1\/wallet-accounts\/ve1abc with \{"slurmUser": "<account>"\}/,
    );
    assert.ok(text.includes('-d \'{"slurmUser":"<account>"}\' $ARCHIPELAGO_URL/v1/wallet-accounts/ve1abc'));
  });

  it('names the development file and the entry to add, or the variable when there is no file', () => {
    assert.equal(
      developmentScoreRemedy('ve1abc', 70, '/s/dev.json'),
      'development identity source (no chain): add or edit "ve1abc": {"score": 70, "status": "VERIFIED"} under "accounts" in /s/dev.json; it is re-read when it changes',
    );
    assert.match(developmentScoreRemedy('ve1abc', 50, null), /set ARCHIPELAGO_DEV_IDENTITY_FILE to a file with "ve1abc": \{"score": 50/);
  });

  it('the CLI prints the remedy under the problem, as the API wrote it', () => {
    assert.equal(
      formatProblem({ status: 403, title: 'Forbidden', detail: 'no POSIX account', remedy: 'ask an admin' }, 403),
      'Forbidden (HTTP 403): no POSIX account\n  remedy: ask an admin',
    );
    assert.equal(formatProblem({ status: 403, title: 'Forbidden' }, 403), 'Forbidden (HTTP 403)');
  });
});
