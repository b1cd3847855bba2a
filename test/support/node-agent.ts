import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './control-plane';

const AGENT = join(REPO, 'dist/src/apps/agent/main.js');

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A real node agent process (`dist/src/apps/agent/main.js`) with its own key and state file in `dir`. */
export class NodeAgent {
  readonly keyFile: string;
  readonly stateFile: string;
  private running: ChildProcess | null = null;
  private exit: Promise<number | null> | null = null;
  private readonly logs: string[] = [];

  constructor(
    readonly dir: string,
    readonly label: string,
    readonly server: string,
  ) {
    this.keyFile = join(dir, `${label}.key`);
    this.stateFile = join(dir, `${label}.state.json`);
  }

  /** Runs one agent command to completion. */
  exec(args: string[], timeoutMs = 20000): Promise<Exit> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [AGENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`agent ${args[0]} did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
      }, timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  keygen(): Promise<Exit> {
    return this.exec(['keygen', '--key-file', this.keyFile]);
  }

  join(token: string, extra: string[] = []): Promise<Exit> {
    return this.exec(['join', '--server', this.server, '--token', token, '--key-file', this.keyFile, '--state-file', this.stateFile, ...extra]);
  }

  /** Starts `run` in the background. */
  start(extra: string[] = []): void {
    const child = spawn(process.execPath, [AGENT, 'run', '--server', this.server, '--key-file', this.keyFile, '--state-file', this.stateFile, ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (c: Buffer) => {
      this.logs.push(c.toString());
      if (this.logs.length > 300) this.logs.splice(0, 100);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.running = child;
    this.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the exit code once `run` ends (or null if it does not within timeoutMs). */
  async exited(timeoutMs = 10000): Promise<number | null | 'running'> {
    if (!this.exit) return null;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([this.exit, new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), timeoutMs)))]);
    clearTimeout(timer);
    return result;
  }

  /** SIGTERM, and the exit code; SIGKILL if it does not stop in 5 s. */
  async stop(): Promise<number | null> {
    if (!this.running || this.running.exitCode !== null) return this.running?.exitCode ?? null;
    this.running.kill('SIGTERM');
    const code = await this.exited(5000);
    if (code === 'running') {
      this.running.kill('SIGKILL');
      return null;
    }
    return code;
  }

  get nodeId(): string {
    return this.state().nodeId;
  }

  state(): { nodeId: string; name: string; seq: number; probeAddress: string } {
    if (!existsSync(this.stateFile)) throw new Error(`${this.label} has no state file`);
    return JSON.parse(readFileSync(this.stateFile, 'utf8'));
  }

  recentLogs(): string {
    return this.logs.join('').slice(-4000);
  }
}
