/** Reads files a job wrote (its output and error streams), with the owner's rights and no more. */
export interface JobFiles {
  /**
   * Reads `length` bytes from `offset` (a negative offset counts from the end). Returns null when
   * the file does not exist (yet). Throws JobFileAccessError when the file is not the owner's to
   * read, and JobFileUnavailableError when the file system did not answer in time.
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

/**
 * The path is not a regular file of the owner's reached inside the owner's roots. The message
 * says why, for the logs only: callers must answer every such refusal alike, so that the answer
 * never tells whether something exists behind a symlink.
 */
export class JobFileAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobFileAccessError';
  }
}

/** No read slot freed up (`busy`), or the read did not finish (`timeout`), within the read's time bound. */
export class JobFileUnavailableError extends Error {
  constructor(
    message: string,
    readonly reason: 'busy' | 'timeout',
  ) {
    super(message);
    this.name = 'JobFileUnavailableError';
  }
}

/** Clamps a requested range to a file of `size` bytes. */
export function clampRange(range: ByteRange, size: number): { start: number; end: number } {
  const start = range.offset < 0 ? Math.max(0, size + range.offset) : Math.min(range.offset, size);
  return { start, end: Math.min(size, start + range.length) };
}
