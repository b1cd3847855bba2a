import { timingSafeEqual } from 'node:crypto';

/** True when `header` is exactly `Bearer <token>`, compared in constant time (the API's and the worker's scrape endpoints). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
