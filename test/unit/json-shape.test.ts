import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonShapeScanner, JsonShapeViolation } from '../../src/core/common/json-shape';

const LIMITS = { maxDepth: 4, maxValues: 20 };

function scanWhole(text: string, limits = LIMITS): JsonShapeViolation | null {
  return new JsonShapeScanner(limits).scan(Buffer.from(text));
}

/** The same text fed one byte at a time: chunk boundaries may fall anywhere, inside strings and escapes too. */
function scanBytewise(text: string, limits = LIMITS): JsonShapeViolation | null {
  const scanner = new JsonShapeScanner(limits);
  let found: JsonShapeViolation | null = null;
  for (const byte of Buffer.from(text)) found = scanner.scan(Uint8Array.of(byte)) ?? found;
  return found;
}

describe('JSON shape: depth and values bounded before parsing', () => {
  const cases: Array<[string, string, JsonShapeViolation | null]> = [
    ['flat object', '{"a":1,"b":"x","c":[1,2,3]}', null],
    ['exactly at the depth limit', '{"a":[[[1]]]}', null],
    ['one level too deep, named by its top-level member', '{"a":1,"options":[[[[1]]]]}', { limit: 'depth', field: 'options' }],
    ['too deep in a top-level array', '[[[[[1]]]]]', { limit: 'depth', field: 'body' }],
    ['brackets inside strings do not count', '{"s":"[[[[[[{{{{{{"}', null],
    ['escaped quotes do not end a string', '{"s":"\\"[[[[[[\\\\","t":[[[1]]]}', null],
    ['an escaped member name is read as JSON reads it', '{"op\\u0074ions":[[[[1]]]]}', { limit: 'depth', field: 'options' }],
    ['too many elements in a member', `{"ids":[${Array.from({ length: 25 }, (_, i) => i).join(',')}]}`, { limit: 'values', field: 'ids' }],
    ['too many members at the top', `{${Array.from({ length: 25 }, (_, i) => `"k${i}":1`).join(',')}}`, { limit: 'values', field: 'body' }],
    ['a member name of control characters is not echoed', '{"\\u0000":[[[[1]]]]}', { limit: 'depth', field: 'body' }],
    ['invalid JSON is left to JSON.parse', ']]]]}}}}{"a":[', null],
    ['multi-byte UTF-8 never looks like syntax', '{"名前":"]]]]}}}}","ü":[[[1]]]}', null],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => {
      assert.deepEqual(scanWhole(text), expected);
      assert.deepEqual(scanBytewise(text), expected);
    });
  }

  it('5,000 levels cost one pass, no recursion, and stop at the limit', () => {
    const deep = '{"message":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    assert.deepEqual(scanWhole(deep, { maxDepth: 32, maxValues: 10_000 }), { limit: 'depth', field: 'message' });
  });

  it('once a limit is broken, later chunks are not read and the verdict stays', () => {
    const scanner = new JsonShapeScanner(LIMITS);
    const verdict = scanner.scan(Buffer.from('{"a":[[[[['));
    assert.deepEqual(verdict, { limit: 'depth', field: 'a' });
    assert.deepEqual(scanner.scan(Buffer.from(']]]]],"b":1}')), verdict);
  });
});
