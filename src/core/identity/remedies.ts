/**
 * What a refused wallet user (or their admin) must do, as one sentence the API sends in a
 * problem's `remedy` and the CLI prints as it is. Pure: each takes what the refusal knows.
 */

/** A wallet that logged in but has no POSIX account: only a platform admin can give it one. */
export function unmappedWalletRemedy(address: string): string {
  return (
    `a platform admin must map this wallet to its POSIX account on the islands: ` +
    `PUT /v1/wallet-accounts/${address} with {"slurmUser": "<account>"} (admin scope), e.g. ` +
    `curl -X PUT -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' ` +
    `-d '{"slurmUser":"<account>"}' $ARCHIPELAGO_URL/v1/wallet-accounts/${address}; it applies at once, no new login needed`
  );
}

/**
 * A wallet below the VEID score a tier needs, on a stack whose identities come from the
 * development file instead of the chain: the fix is an edit of that file (re-read on change).
 */
export function developmentScoreRemedy(address: string, score: number, file: string | null): string {
  const entry = `"${address}": {"score": ${score}, "status": "VERIFIED"}`;
  return file
    ? `development identity source (no chain): add or edit ${entry} under "accounts" in ${file}; it is re-read when it changes`
    : `development identity source (no chain) without a file: set ARCHIPELAGO_DEV_IDENTITY_FILE to a file with ${entry} under "accounts" and restart`;
}
