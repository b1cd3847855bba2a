/**
 * The REST API as the page calls it: the signed-in token (an API key or a wallet session) as a
 * bearer, kept in sessionStorage only (gone with the tab); problem+json answers become ApiErrors.
 */
const TOKEN = 'archipelago.token';
const REFRESH = 'archipelago.refresh';

export interface Problem {
  title?: string;
  detail?: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.title ?? 'Request failed'} (HTTP ${status})${problem.detail ? `: ${problem.detail}` : ''}`);
  }
}

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN),
  /** A wallet login also keeps its refresh token, so a 15-minute session renews itself. */
  save(token: string, refreshToken?: string): void {
    sessionStorage.setItem(TOKEN, token);
    if (refreshToken) sessionStorage.setItem(REFRESH, refreshToken);
    else sessionStorage.removeItem(REFRESH);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(REFRESH);
  },
};

function send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  const token = session.token();
  return fetch(path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Swaps an expired wallet session for a new one once; false when there is nothing to refresh. */
async function refreshed(): Promise<boolean> {
  const refreshToken = sessionStorage.getItem(REFRESH);
  if (!refreshToken) return false;
  const answer = await fetch('/v1/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) });
  if (!answer.ok) return false;
  const tokens = (await answer.json()) as { sessionToken: string; refreshToken: string };
  session.save(tokens.sessionToken, tokens.refreshToken);
  return true;
}

/** One call; the raw response (output reads look at 404 and 206 themselves). */
export async function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  let answer = await send(method, path, body, headers);
  if (answer.status === 401 && (await refreshed())) answer = await send(method, path, body, headers);
  return answer;
}

export async function problemOf(answer: Response): Promise<ApiError> {
  const text = await answer.text();
  try {
    return new ApiError(answer.status, JSON.parse(text) as Problem);
  } catch {
    return new ApiError(answer.status, { title: answer.statusText, detail: text.slice(0, 200) });
  }
}

/** A JSON call that throws an ApiError on anything but 2xx. */
export async function api<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const answer = await request(method, path, body, headers);
  if (!answer.ok) throw await problemOf(answer);
  const text = await answer.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
