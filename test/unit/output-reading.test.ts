import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { OUTPUT_CHUNK_BYTES } from '../../src/core/jobs/byte-range';
import { readOutput, type ReadSlice } from '../../src/core/jobs/output-reading';
import { clampRange } from '../../src/core/slurm/job-files.port';

/** A file in memory, read as the JobFiles port reads (clamped), counting the reads and the largest. */
function fileOf(content: Buffer) {
  const reads: number[] = [];
  const read: ReadSlice = async (range) => {
    const { start, end } = clampRange(range, content.length);
    reads.push(end - start);
    return { data: Buffer.from(content.subarray(start, end)), start, size: content.length };
  };
  return { read, reads };
}

async function bodyOf(body: Buffer | AsyncIterable<Buffer>): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

describe('readOutput', () => {
  it('serves a file of several chunks whole, one bounded read at a time', async () => {
    const content = Buffer.alloc(OUTPUT_CHUNK_BYTES * 2 + 123, 'x');
    content.write('END', content.length - 3);
    const file = fileOf(content);
    const out = (await readOutput(file.read, { offset: 0, length: null }))!;
    assert.deepEqual([out.start, out.length, out.size], [0, content.length, content.length]);
    assert.ok(!Buffer.isBuffer(out.body), 'streamed');
    assert.ok((await bodyOf(out.body)).equals(content));
    assert.deepEqual(file.reads, [OUTPUT_CHUNK_BYTES, OUTPUT_CHUNK_BYTES, 123]);
  });

  it('a small file comes in one read; an offset reads to the end', async () => {
    const file = fileOf(Buffer.from('hello world\n'));
    const whole = (await readOutput(file.read, { offset: 0, length: null }))!;
    assert.equal((await bodyOf(whole.body)).toString(), 'hello world\n');
    const rest = (await readOutput(file.read, { offset: 6, length: null }))!;
    assert.deepEqual([rest.start, rest.length, rest.size], [6, 6, 12]);
    assert.equal((await bodyOf(rest.body)).toString(), 'world\n');
  });

  it('a bounded range longer than a chunk is streamed and stops at its end', async () => {
    const content = Buffer.alloc(OUTPUT_CHUNK_BYTES * 3, 'y');
    const file = fileOf(content);
    const out = (await readOutput(file.read, { offset: 10, length: OUTPUT_CHUNK_BYTES + 5 }))!;
    assert.equal(out.length, OUTPUT_CHUNK_BYTES + 5);
    assert.equal((await bodyOf(out.body)).length, OUTPUT_CHUNK_BYTES + 5);
  });

  it('the last lines, looking further back until it has them', async () => {
    const line = 'z'.repeat(99) + '\n';
    const content = Buffer.from('first\n' + line.repeat(2000) + 'last\n');
    const file = fileOf(content);
    const out = (await readOutput(file.read, { tailLines: 1000 }))!;
    const text = (await bodyOf(out.body)).toString();
    assert.equal(text, line.repeat(999) + 'last\n');
    assert.equal(out.start + out.length, content.length);
    assert.ok(file.reads.length > 1, 'a 64 KiB window holds too few lines: it looked further back');
    const all = (await readOutput(fileOf(content).read, { tailLines: 5000 }))!;
    assert.ok((await bodyOf(all.body)).equals(content), 'more lines than the file: the whole file');
  });

  it('no file: null', async () => {
    assert.equal(await readOutput(async () => null, { offset: 0, length: null }), null);
    assert.equal(await readOutput(async () => null, { tailLines: 3 }), null);
  });
});
