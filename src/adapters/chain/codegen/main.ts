import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseProto, renderTypescript } from './proto-subset';

/** Every .proto under proto/, in a stable order. */
export function protoFiles(repo: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.proto')) found.push(path);
    }
  };
  walk(join(repo, 'proto'));
  return found;
}

export function generateChainTypes(repo: string): string {
  return renderTypescript(protoFiles(repo).map((path) => parseProto(relative(repo, path), readFileSync(path, 'utf8'))));
}

export const GENERATED_PATH = 'src/adapters/chain/generated/virtengine.ts';

if (require.main === module) {
  const repo = process.argv[2] ?? process.cwd();
  writeFileSync(join(repo, GENERATED_PATH), generateChainTypes(repo));
  console.log(`wrote ${GENERATED_PATH}`);
}
