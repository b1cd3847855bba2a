import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseProto, RenderedChainTypes, renderTypescript } from './proto-subset';

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

export function generateChainTypes(repo: string): RenderedChainTypes {
  return renderTypescript(protoFiles(repo).map((path) => parseProto(relative(repo, path), readFileSync(path, 'utf8'))));
}

export const GENERATED_PATHS: Record<keyof RenderedChainTypes, string> = {
  enums: 'src/core/chain/virtengine-enums.ts',
  messages: 'src/adapters/chain/generated/virtengine.ts',
};

if (require.main === module) {
  const repo = process.argv[2] ?? process.cwd();
  const generated = generateChainTypes(repo);
  for (const part of ['enums', 'messages'] as const) {
    writeFileSync(join(repo, GENERATED_PATHS[part]), generated[part]);
    console.log(`wrote ${GENERATED_PATHS[part]}`);
  }
}
