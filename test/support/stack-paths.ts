import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface StackPaths {
  TEMPORAL_BIN: string;
  TEMPORAL_TEST_SERVER_BIN: string;
  KAFKA_LIBS: string;
}

/** Paths written by `bash scripts/stack.sh install`: tests run installed binaries, never download. */
export function readStackPaths(): StackPaths {
  const file = `${process.env['STACK_HOME'] ?? `${repoRoot}.stack`}/paths.env`;
  if (!existsSync(file)) throw new Error(`${file} is missing: run 'bash scripts/stack.sh install' first (npm test does)`);
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^([A-Z_]+)=["']?(.*?)["']?$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]);
  const paths = Object.fromEntries(entries) as Partial<StackPaths>;
  for (const key of ['TEMPORAL_BIN', 'TEMPORAL_TEST_SERVER_BIN', 'KAFKA_LIBS'] as const) {
    if (!paths[key]) throw new Error(`${file} has no ${key}`);
  }
  return paths as StackPaths;
}
