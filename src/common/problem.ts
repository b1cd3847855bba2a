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

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extras: { field?: string; errors?: Array<{ field: string; reason: string }>; [k: string]: unknown } = {},
  ) {
    super(detail);
    this.name = 'Problem';
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

export const conflict = (detail: string, field?: string): Problem =>
  new Problem(409, 'Conflict', detail, field ? { field } : {});

export const unavailable = (detail: string): Problem => new Problem(503, 'Service unavailable', detail);
