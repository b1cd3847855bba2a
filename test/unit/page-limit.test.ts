import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { PageLimit } from '../../src/adapters/http/page-limit';

class Query {
  @PageLimit(500, 50)
  limit?: number;
}

const check = (limit: unknown) => {
  const query = plainToInstance(Query, { limit });
  return { query, errors: validateSync(query).map((e) => e.property) };
};

describe("PageLimit: the list queries' limit", () => {
  it('converts a URL string and accepts 1..max', () => {
    assert.deepEqual(check('5'), { query: Object.assign(new Query(), { limit: 5 }), errors: [] });
    assert.deepEqual(check('500').errors, []);
    assert.deepEqual(check(undefined).errors, [], 'absent: the default applies');
  });

  it('refuses 0, above the maximum, fractions and words', () => {
    for (const bad of ['0', '501', '2.5', 'ten', '-1']) assert.deepEqual(check(bad).errors, ['limit'], bad);
  });
});
