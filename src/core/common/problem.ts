/**
 * RFC 9457 problem details. Every error a client can cause is thrown as a Problem so the filter
 * can answer `application/problem+json` naming the offending field; anything else is a 500 that
 * tells the client nothing about our internals.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
  errors?: Array<{ field: string; reason: string }>;
  [extension: string]: unknown;
}

/** The members every problem body has; an extension may not replace them. */
const RESERVED = ['type', 'title', 'status', 'detail'] as const;

/** Extension members: the offending field, every reason, and anything else a client can act on. */
export type ProblemExtras = {
  field?: string;
  errors?: Array<{ field: string; reason: string }>;
  [extension: string]: unknown;
} & { [K in (typeof RESERVED)[number]]?: never };

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extras: ProblemExtras = {},
  ) {
    super(detail);
    this.name = 'Problem';
    // A problem that is not one (a null status, an extension overriding `status`) would reach the
    // client as invalid problem+json; refuse to build it, so the mistake is a loud 500 in tests.
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError(`a problem's status is an HTTP error status, not ${status}`);
    if (typeof title !== 'string' || title === '' || typeof detail !== 'string') throw new TypeError('a problem has a title and a detail');
    const overridden = RESERVED.filter((member) => Object.hasOwn(extras, member));
    if (overridden.length > 0) throw new TypeError(`a problem's extensions may not replace ${overridden.join(', ')}`);
  }

  get type(): string {
    return `https://archipelago.dev/problems/${this.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  }

  toBody(): ProblemBody {
    return { type: this.type, title: this.title, status: this.status, detail: this.detail, ...this.extras };
  }
}

export const invalid = (field: string, reason: string): Problem =>
  new Problem(400, 'Invalid request', `${field}: ${reason}`, { field, errors: [{ field, reason }] });

export const notFound = (what: string): Problem => new Problem(404, 'Not found', `${what} does not exist`);

export const conflict = (detail: string, field?: string): Problem => new Problem(409, 'Conflict', detail, field ? { field } : {});

/** A well-formed request that can never be carried out (e.g. a job no island can ever run). */
export const unprocessable = (detail: string, extras: ProblemExtras = {}): Problem => new Problem(422, 'Unprocessable request', detail, extras);

export const unavailable = (detail: string): Problem => new Problem(503, 'Service unavailable', detail);
