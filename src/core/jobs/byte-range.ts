import { invalid, Problem } from '../common/problem';

/** What one read of a job file may return at most; longer spans are streamed in reads of this size. */
export const OUTPUT_CHUNK_BYTES = 1024 * 1024;
/** The most a bounded request (`length`, `tail`, a closed Range) may ask for, and the furthest back `tailLines` looks. */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Which part of a job file to serve: bytes from `offset` (negative: from the end) for `length`
 * bytes, or to the end of the file when `length` is null (streamed); or the last `tailLines`
 * lines, as `tail -n` prints them.
 */
export type OutputSelection = { offset: number; length: number | null } | { tailLines: number };

export interface OutputQueryRange {
  offset?: number;
  tail?: number;
  tailLines?: number;
  length?: number;
}

/**
 * An HTTP `Range: bytes=...` header (one range only), or the query's offset/length, tail (bytes)
 * or tailLines. With none of them: the whole file, as `cat` would print it.
 */
export function requestedOutput(header: string | undefined, query: OutputQueryRange): OutputSelection {
  if (query.tailLines !== undefined) {
    const other =
      header !== undefined
        ? 'a Range header'
        : query.tail !== undefined
          ? 'tail'
          : query.offset !== undefined || query.length !== undefined
            ? 'offset/length'
            : null;
    if (other) throw invalid('tailLines', `cannot be combined with ${other}`);
    return { tailLines: query.tailLines };
  }
  if (header !== undefined) return rangeHeader(header);
  if (query.tail !== undefined) return { offset: -query.tail, length: query.tail };
  return { offset: query.offset ?? 0, length: query.length ?? null };
}

function rangeHeader(header: string): OutputSelection {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) {
    throw new Problem(416, 'Range not satisfiable', 'only one "bytes=start-end", "bytes=start-" or "bytes=-suffix" range is supported', { field: 'Range' });
  }
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw new Problem(416, 'Range not satisfiable', 'a suffix range must ask for at least one byte', { field: 'Range' });
    // Capped, the suffix still ends at the end of the file.
    const length = Math.min(suffix, MAX_OUTPUT_BYTES);
    return { offset: -length, length };
  }
  const start = Number(match[1]);
  // An open range reads to the end of the file, as HTTP means it.
  if (match[2] === '') return { offset: start, length: null };
  const end = Number(match[2]);
  if (end < start) throw new Problem(416, 'Range not satisfiable', 'the range ends before it starts', { field: 'Range' });
  return { offset: start, length: Math.min(end - start + 1, MAX_OUTPUT_BYTES) };
}

const NEWLINE = 0x0a;

/**
 * Where the last `lines` lines of `tail` start, `tail` being the end of a file, as `tail -n`
 * counts them: a final newline ends the last line rather than starting an empty one. null when
 * `tail` holds fewer lines and does not reach the start of the file (read further back).
 */
export function startOfLastLines(tail: Buffer, lines: number, reachesFileStart: boolean): number | null {
  let seen = 0;
  for (let i = tail.length - 1 - (tail[tail.length - 1] === NEWLINE ? 1 : 0); i >= 0; i--) {
    if (tail[i] === NEWLINE && ++seen === lines) return i + 1;
  }
  return reachesFileStart ? 0 : null;
}
