import type { CredentialsProvider } from './credentials';
import { CliError, exitCodeForStatus, ExitCode } from './exit-codes';
import { formatProblem, ProblemLike } from './format';

const TIMEOUT_MS = 30_000;

/** A non-2xx answer, carrying the server's problem+json so it can be printed readably. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: ProblemLike,
  ) {
    super(formatProblem(problem, status), exitCodeForStatus(status));
    this.name = 'ApiError';
  }
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** The REST API, authenticated by whichever credentials are configured. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly credentials: CredentialsProvider,
  ) {}

  async json<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const answer = await this.send(method, path, body, { ...headers, accept: 'application/json' });
    return (answer.body.length ? JSON.parse(answer.body.toString('utf8')) : undefined) as T;
  }

  /** For endpoints that answer bytes (job output): the body untouched, with its headers. */
  async bytes(path: string): Promise<RawAnswer> {
    return this.send('GET', path, undefined, {});
  }

  private async send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<RawAnswer> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...headers,
          authorization: await this.credentials.authorization(),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      // The credentials' own verdict (e.g. a login that expired) stands as it is.
      if (error instanceof CliError) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new CliError(`cannot reach ${this.baseUrl} (${why})`, ExitCode.UNAVAILABLE);
    }
    const data = Buffer.from(await response.arrayBuffer());
    if (!response.ok) throw new ApiError(response.status, problemFrom(data, response.status));
    return { status: response.status, headers: response.headers, body: data };
  }
}

function problemFrom(data: Buffer, status: number): ProblemLike {
  try {
    const parsed = JSON.parse(data.toString('utf8'));
    if (parsed && typeof parsed === 'object') return parsed as ProblemLike;
  } catch {
    // not JSON: a proxy's HTML page, say
  }
  const text = data.toString('utf8').trim().slice(0, 200);
  return { status, title: 'Request failed', detail: text || undefined };
}
