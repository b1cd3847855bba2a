import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Problem } from '../../src/core/common/problem';
import { requestedOutput as requestedRange, startOfLastLines } from '../../src/core/jobs/byte-range';
import { clampRange } from '../../src/core/slurm/job-files.port';

const MiB = 1024 * 1024;
const MAX = 16 * MiB;

function unsatisfiable(header: string, detail?: RegExp): void {
  assert.throws(
    () => requestedRange(header, {}),
    (error: unknown) => {
      assert.ok(error instanceof Problem);
      assert.equal(error.status, 416);
      assert.equal(error.extras.field, 'Range');
      if (detail) assert.match(error.detail, detail);
      return true;
    },
    header,
  );
}

describe('requestedRange: Range header', () => {
  it('bytes=start-end is inclusive', () => {
    assert.deepEqual(requestedRange('bytes=100-199', {}), { offset: 100, length: 100 });
    assert.deepEqual(requestedRange('bytes=0-0', {}), { offset: 0, length: 1 });
  });
  it('bytes=start- reads from start to the end of the file', () => {
    assert.deepEqual(requestedRange('bytes=500-', {}), { offset: 500, length: null });
  });
  it('bytes=-suffix reads the last bytes', () => {
    assert.deepEqual(requestedRange('bytes=-20', {}), { offset: -20, length: 20 });
  });
  it('caps a range at 16 MiB', () => {
    assert.deepEqual(requestedRange(`bytes=10-${10 + MAX}`, {}), { offset: 10, length: MAX });
    assert.deepEqual(requestedRange(`bytes=10-${10 + MAX - 1}`, {}), { offset: 10, length: MAX });
  });
  it('a capped suffix still reads the END of the file', () => {
    const range = requestedRange(`bytes=-${MAX + 1000}`, {}) as { offset: number; length: number };
    assert.equal(range.length, MAX);
    // On a 20 MiB file the bytes served must be the last 16 MiB.
    const size = 20 * MiB;
    assert.deepEqual(clampRange(range, size), { start: size - MAX, end: size });
  });
  it('tolerates surrounding whitespace', () => {
    assert.deepEqual(requestedRange('  bytes=1-2 ', {}), { offset: 1, length: 2 });
  });
  it('the header wins over query parameters', () => {
    assert.deepEqual(requestedRange('bytes=5-9', { offset: 100, length: 3, tail: 7 }), { offset: 5, length: 5 });
  });
  it('refuses malformed or multiple ranges with 416', () => {
    for (const header of ['bytes=-', 'bytes=1-2,5-6', 'items=0-1', 'bytes=a-b', 'bytes 0-1', '', 'bytes=1', 'bytes=-1-2']) {
      unsatisfiable(header, /only one/);
    }
  });
  it('refuses a range that ends before it starts', () => {
    unsatisfiable('bytes=10-9', /ends before it starts/);
  });
  it('refuses a zero-length suffix (RFC 9110: unsatisfiable)', () => {
    unsatisfiable('bytes=-0');
  });
});

describe('requestedRange: query parameters', () => {
  it('defaults to the whole file', () => {
    assert.deepEqual(requestedRange(undefined, {}), { offset: 0, length: null });
  });
  it('offset and length', () => {
    assert.deepEqual(requestedRange(undefined, { offset: 7, length: 3 }), { offset: 7, length: 3 });
    assert.deepEqual(requestedRange(undefined, { offset: 7 }), { offset: 7, length: null });
    assert.deepEqual(requestedRange(undefined, { length: 3 }), { offset: 0, length: 3 });
  });
  it('tail reads the last bytes and wins over offset', () => {
    assert.deepEqual(requestedRange(undefined, { tail: 50, offset: 3, length: 9 }), { offset: -50, length: 50 });
  });
});

describe('requestedOutput: tailLines', () => {
  it('asks for the last lines', () => {
    assert.deepEqual(requestedRange(undefined, { tailLines: 20 }), { tailLines: 20 });
  });
  it('refuses to combine it with a byte selection, naming the field', () => {
    for (const [header, query] of [
      ['bytes=0-9', { tailLines: 3 }],
      [undefined, { tailLines: 3, tail: 10 }],
      [undefined, { tailLines: 3, offset: 1 }],
      [undefined, { tailLines: 3, length: 1 }],
    ] as const) {
      assert.throws(
        () => requestedRange(header, query),
        (error: unknown) => error instanceof Problem && error.status === 400 && error.extras.field === 'tailLines',
        JSON.stringify([header, query]),
      );
    }
  });
});

describe('startOfLastLines: tail -n', () => {
  const text = Buffer.from('one\ntwo\nthree\n');
  const last = (data: Buffer, lines: number, atStart = true) => {
    const at = startOfLastLines(data, lines, atStart);
    return at === null ? null : data.subarray(at).toString();
  };
  it('counts a final newline as the end of the last line', () => {
    assert.equal(last(text, 1), 'three\n');
    assert.equal(last(text, 2), 'two\nthree\n');
    assert.equal(last(text, 3), 'one\ntwo\nthree\n');
  });
  it('a last line without a newline is a line', () => {
    assert.equal(last(Buffer.from('a\nb\nlast'), 1), 'last');
    assert.equal(last(Buffer.from('a\nb\nlast'), 2), 'b\nlast');
  });
  it('more lines than the file has: the whole file', () => {
    assert.equal(last(text, 10), text.toString());
    assert.equal(last(Buffer.alloc(0), 1), '');
  });
  it('a window that holds too few lines and is not the whole file asks to look further back', () => {
    assert.equal(last(Buffer.from('wo\nthree\n'), 2, false), null);
    assert.equal(last(Buffer.from('wo\nthree\n'), 1, false), 'three\n');
  });
  it('empty lines count', () => {
    assert.equal(last(Buffer.from('x\n\n\n'), 2), '\n\n');
  });
});
