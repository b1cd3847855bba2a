import { Problem } from '../common/problem';
import type { ByteRange } from '../slurm/job-files.port';

export const DEFAULT_OUTPUT_BYTES = 1024 * 1024;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** An HTTP `Range: bytes=...` header (one range only), or the query's offset/tail/length. */
export function requestedRange(header: string | undefined, query: { offset?: number; tail?: number; length?: number }): ByteRange {
  if (header !== undefined) {
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
    const end = match[2] === '' ? start + DEFAULT_OUTPUT_BYTES - 1 : Number(match[2]);
    if (end < start) throw new Problem(416, 'Range not satisfiable', 'the range ends before it starts', { field: 'Range' });
    return { offset: start, length: Math.min(end - start + 1, MAX_OUTPUT_BYTES) };
  }
  if (query.tail !== undefined) return { offset: -query.tail, length: query.tail };
  return { offset: query.offset ?? 0, length: query.length ?? DEFAULT_OUTPUT_BYTES };
}
