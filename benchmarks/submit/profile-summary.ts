/**
 * Summarizes a .cpuprofile: self time by package (or src/ module) and the top functions.
 *   node dist/benchmarks/submit/profile-summary.js FILE.cpuprofile [--top 30] [--callers writev]
 * --callers NAME: where the self time of functions called NAME comes from (their 4 nearest callers outside Node's internals).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function bucket(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/builtin)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = url.indexOf('/dist/');
  return src >= 0 ? url.slice(src + 6) : url;
}

function main(): void {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top N]');
  const option = (flag: string) => {
    const i = rest.indexOf(flag);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const top = Number(option('--top') ?? 25);
  const callersOf = option('--callers');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byBucket = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id)!;
    const b = bucket(callFrame.url, callFrame.functionName);
    byBucket.set(b, (byBucket.get(b) ?? 0) + us);
    const fn = `${callFrame.functionName || '(anonymous)'} ${b}:${callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const show = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((us / total) * 100).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
    }
  };
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled over ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms`);
  show('self time by package / module', byBucket);
  show('self time by function', byFunction);
  if (callersOf) {
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const byChain = new Map<string, number>();
    for (const [id, us] of self) {
      if (byId.get(id)!.callFrame.functionName !== callersOf) continue;
      const chain: string[] = [];
      for (let p = parent.get(id); p !== undefined && chain.length < 4; p = parent.get(p)) {
        const f = byId.get(p)!.callFrame;
        if (!f.url || f.url.startsWith('node:')) continue; // skip Node's own stream plumbing
        chain.push(`${f.functionName || '(anon)'}@${bucket(f.url, f.functionName)}:${f.lineNumber + 1}`);
      }
      const key = chain.join(' < ');
      byChain.set(key, (byChain.get(key) ?? 0) + us);
    }
    show(`callers of ${callersOf}`, byChain);
  }
}

main();
