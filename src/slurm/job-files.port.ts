/** Reads files a job wrote (its output and error streams), with the owner's rights and no more. */
export interface JobFiles {
  /**
   * Reads `length` bytes from `offset` (a negative offset counts from the end). Returns null when
   * the file does not exist (yet). Throws JobFileAccessError when the file is not the owner's to read.
   */
  read(user: string, path: string, range: ByteRange): Promise<FileSlice | null>;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface FileSlice {
  data: Buffer;
  /** Where the slice starts, and the whole file's size, for Content-Range. */
  start: number;
  size: number;
}

export class JobFileAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobFileAccessError';
  }
}

/** Clamps a requested range to a file of `size` bytes. */
export function clampRange(range: ByteRange, size: number): { start: number; end: number } {
  const start = range.offset < 0 ? Math.max(0, size + range.offset) : Math.min(range.offset, size);
  return { start, end: Math.min(size, start + range.length) };
}
