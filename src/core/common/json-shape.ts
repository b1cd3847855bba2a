/**
 * A cheap look at the shape of a JSON text before it is parsed: how deep it nests and how many
 * members and elements it holds. Pure and iterative (one pass over the bytes, no recursion, no
 * allocation per value), fed chunk by chunk as the body arrives, so a body can be refused before
 * JSON.parse, class-transformer and class-validator (all recursive, and linear in the number of
 * values) ever see it.
 *
 * It reads bytes, not characters: every byte that matters (quotes, backslashes, brackets, commas,
 * colons) is ASCII, and no byte of a multi-byte UTF-8 sequence is. It does not check that the text
 * is valid JSON; JSON.parse does that afterwards.
 */
export interface JsonShapeLimits {
  /** Nesting of arrays and objects; `{"a":[1]}` is 2 deep. */
  maxDepth: number;
  /** Arrays, objects and the members and elements after their first, counted over the whole text. */
  maxValues: number;
}

export interface JsonShapeViolation {
  limit: 'depth' | 'values';
  /** The top-level member whose value broke the limit, or `body` when it was the body as a whole. */
  field: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
/** Longer top-level member names are not kept for the refusal's `field`. */
const MAX_MEMBER_NAME_BYTES = 128;

export class JsonShapeScanner {
  private depth = 0;
  private values = 0;
  private inString = false;
  private escaped = false;
  private topLevelIsObject = false;
  /** Bytes of the string being read at depth 1 of an object (a member name, once a colon follows). */
  private stringBytes: number[] | null = null;
  private lastString: number[] | null = null;
  private member: number[] | null = null;
  private found: JsonShapeViolation | null = null;

  constructor(private readonly limits: JsonShapeLimits) {}

  /** The first limit the text so far breaks, or null; once broken, later chunks are not read. */
  scan(chunk: Uint8Array): JsonShapeViolation | null {
    if (this.found) return this.found;
    const { maxDepth, maxValues } = this.limits;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) {
          this.inString = false;
          this.lastString = this.stringBytes;
          this.stringBytes = null;
          continue;
        }
        if (this.stringBytes && this.stringBytes.length < MAX_MEMBER_NAME_BYTES + 1) this.stringBytes.push(byte);
        continue;
      }
      switch (byte) {
        case QUOTE:
          this.inString = true;
          this.stringBytes = this.depth === 1 && this.topLevelIsObject ? [] : null;
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          if (this.depth === 0) this.topLevelIsObject = byte === OPEN_OBJECT;
          this.depth++;
          this.values++;
          if (this.depth > maxDepth) return this.refuse('depth');
          if (this.values > maxValues) return this.refuse('values');
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          if (this.depth > 0) this.depth--;
          break;
        case COMMA:
          if (this.depth === 1) this.member = null;
          if (++this.values > maxValues) return this.refuse('values');
          break;
        case COLON:
          if (this.depth === 1) this.member = this.lastString;
          break;
      }
    }
    return null;
  }

  private refuse(limit: JsonShapeViolation['limit']): JsonShapeViolation {
    this.found = { limit, field: this.depth > 1 ? memberName(this.member) : 'body' };
    return this.found;
  }
}

/** The member's name as JSON.parse would read it, when it is short and readable; else `body`. */
function memberName(bytes: number[] | null): string {
  if (!bytes || bytes.length === 0 || bytes.length > MAX_MEMBER_NAME_BYTES) return 'body';
  try {
    const name = JSON.parse(`"${Buffer.from(bytes).toString('utf8')}"`) as string;
    return /^[\x20-\x7e]+$/.test(name) ? name : 'body';
  } catch {
    return 'body';
  }
}
