import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { repeatEvery } from '../../core/common/repeat';
import { rows } from '../../adapters/postgres/sql';
import type { WitnessedHead } from '../../core/audit/audit-chain';

/** Witness lines are short: the last one is always within this many bytes of the end. */
const TAIL_BYTES = 4096;

/** The last head written to a witness file, or null (no file, empty, or unreadable). */
export function lastWitnessedHead(file: string): WitnessedHead | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        const head = JSON.parse(lines[i]) as WitnessedHead;
        if (Number.isSafeInteger(head.seq) && /^[0-9a-f]{64}$/.test(head.hash)) return head;
      } catch {
        // a torn first line of the tail window; older lines are not needed
      }
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Keeps the audit chain's head outside PostgreSQL: every interval, when the head moved, appends
 * `{"seq","hash","at"}` to the witness file (put it where the database's administrators cannot
 * write: another host's mount, append-only storage, shipped logs) and logs it. Verify then checks
 * the chain against the last witnessed head, which exposes the one thing the chain alone cannot:
 * its newest entries removed. Runs in every process (duplicate lines are harmless); a head that
 * went back is reported at once.
 */
@Injectable()
export class AuditWitness implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AuditWitness.name);
  private stop: (() => void) | null = null;

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The last witnessed head (null: no witness file configured, or nothing witnessed yet). */
  lastHead(): WitnessedHead | null {
    const file = this.config.auditWitness.file;
    return file ? lastWitnessedHead(file) : null;
  }

  onApplicationBootstrap(): void {
    if (!this.config.auditWitness.file) return;
    this.stop = repeatEvery(
      this.config.auditWitness.intervalMs,
      () => this.witness(),
      (error) => this.logger.warn(`audit witness: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }

  private async witness(): Promise<void> {
    const file = this.config.auditWitness.file!;
    const [head] = await rows<{ seq: string; hash: Buffer }>(this.db, 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    if (!head) return;
    const seq = Number(head.seq);
    const hash = head.hash.toString('hex');
    const last = lastWitnessedHead(file);
    if (last && seq < last.seq) {
      this.logger.error(`audit trail truncated: its head is seq ${seq} but seq ${last.seq} was witnessed at ${last.at}`);
      return;
    }
    if (last && seq === last.seq) return;
    const at = new Date().toISOString();
    appendFileSync(file, `${JSON.stringify({ seq, hash, at })}\n`, { mode: 0o640 });
    this.logger.log(`audit head seq=${seq} hash=${hash}`);
  }
}
