import type { ByteRange, FileSlice } from '../slurm/job-files.port';
import { MAX_OUTPUT_BYTES, OUTPUT_CHUNK_BYTES, startOfLastLines, type OutputSelection } from './byte-range';

/** One bounded read of the job file (null: no such file); each read checks the file anew. */
export type ReadSlice = (range: ByteRange) => Promise<FileSlice | null>;

/**
 * What the output endpoint sends: `length` bytes from `start` of a file of `size` bytes, either
 * at hand or as chunks read one after the other (so a file of any size is served in bounded memory).
 */
export interface OutputBody {
  start: number;
  length: number;
  size: number;
  body: Buffer | AsyncIterable<Buffer>;
}

/** The selection read from the file; null when the file does not exist. */
export async function readOutput(read: ReadSlice, selection: OutputSelection): Promise<OutputBody | null> {
  if ('tailLines' in selection) return readLastLines(read, selection.tailLines);
  const first = await read({ offset: selection.offset, length: Math.min(selection.length ?? OUTPUT_CHUNK_BYTES, OUTPUT_CHUNK_BYTES) });
  if (!first) return null;
  const firstEnd = first.start + first.data.length;
  // What the first read saw fixes the span: bytes appended meanwhile are for the next request.
  const end = selection.length === null ? first.size : Math.min(first.size, first.start + selection.length);
  if (firstEnd >= end) return { start: first.start, length: first.data.length, size: first.size, body: first.data };
  return { start: first.start, length: end - first.start, size: first.size, body: chunks(read, first.data, firstEnd, end) };
}

async function* chunks(read: ReadSlice, first: Buffer, from: number, end: number): AsyncIterable<Buffer> {
  yield first;
  for (let offset = from; offset < end;) {
    const slice = await read({ offset, length: Math.min(OUTPUT_CHUNK_BYTES, end - offset) });
    // The file went away or shrank under us: what was there has been sent.
    if (!slice || slice.data.length === 0) return;
    yield slice.data;
    offset += slice.data.length;
  }
}

/** The last `lines` lines, looking back through growing windows up to MAX_OUTPUT_BYTES from the end. */
async function readLastLines(read: ReadSlice, lines: number): Promise<OutputBody | null> {
  for (let window = 64 * 1024; ; window = Math.min(window * 4, MAX_OUTPUT_BYTES)) {
    const slice = await read({ offset: -window, length: window });
    if (!slice) return null;
    const atStart = slice.start === 0;
    const from = startOfLastLines(slice.data, lines, atStart || window === MAX_OUTPUT_BYTES);
    if (from !== null) {
      const data = slice.data.subarray(from);
      return { start: slice.start + from, length: data.length, size: slice.size, body: data };
    }
  }
}
