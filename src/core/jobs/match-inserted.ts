/** What identifies a submission among the rows one multi-row INSERT returned. */
export interface InsertKey {
  ownerId: string;
  idempotencyKey: string | null;
  requestHash: Buffer;
}

function keyOf(ownerId: string, idempotencyKey: string | null, requestHash: Buffer): string {
  return `${ownerId}\u0000${idempotencyKey ?? ''}\u0000${idempotencyKey === null ? '-' : '+'}\u0000${requestHash.toString('hex')}`;
}

/**
 * Gives each submission of a batch its inserted row, or null when the insert skipped it (its
 * idempotency key was taken, possibly by an earlier submission of the same batch). RETURNING
 * promises no order, so rows are matched by owner, key and request hash; submissions that agree
 * on all three are the same request from the same owner, and any of their rows answers either.
 */
export function matchInserted<R extends { owner_id: string; idempotency_key: string | null; request_hash: Buffer }>(
  inputs: InsertKey[],
  inserted: R[],
): Array<R | null> {
  const byKey = new Map<string, R[]>();
  for (const row of inserted) {
    const key = keyOf(row.owner_id, row.idempotency_key, row.request_hash);
    const list = byKey.get(key);
    if (list) list.push(row);
    else byKey.set(key, [row]);
  }
  return inputs.map((input) => byKey.get(keyOf(input.ownerId, input.idempotencyKey, input.requestHash))?.shift() ?? null);
}
