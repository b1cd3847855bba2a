/**
 * SQLSTATEs that mean "PostgreSQL cannot serve anyone right now" (class 08 connection exceptions,
 * 57P01-57P03 shutdown/starting up, 53300 too many connections), and the socket errors of a
 * connection attempt. None of them is a verdict on the request: the client should retry later.
 */
const UNAVAILABLE_CODES = new Set([
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** What node-postgres says, without a code, when a connection dies or cannot be made in time. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable/;

/** Whether `error` (a TypeORM QueryFailedError, a pg error, or a socket error) means the database is unreachable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  // TypeORM keeps the driver's error as `driverError`; Node keeps causes as `cause`.
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const { code, message, driverError, cause } = e as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    e = driverError ?? cause;
  }
  return false;
}
