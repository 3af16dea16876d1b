import { readFileSync } from 'node:fs';

/**
 * README's ```bash blocks, and what test/readme/readme-blocks.test.ts does with each. A block is
 * run, and must exit 0, unless the line right before its fence says otherwise:
 *
 *   <!-- readme-test: exit 1 -->                 run; it must exit 1 (it shows a refusal)
 *   <!-- readme-test: skip — <why, and which test covers it> -->
 */
export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  script: string;
  expect: { run: true; exitCode: number } | { run: false; reason: string };
}

const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->$/;

export function readmeBlocks(file: string): ReadmeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```bash') continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`README.md:${i + 1}: a bash block that never ends`);
    const marker = MARKER.exec(lines[i - 1] ?? '')?.[1];
    blocks.push({ line: i + 1, script: lines.slice(i + 1, end).join('\n'), expect: expectation(marker, i + 1) });
    i = end;
  }
  return blocks;
}

function expectation(marker: string | undefined, line: number): ReadmeBlock['expect'] {
  if (marker === undefined) return { run: true, exitCode: 0 };
  const exit = /^exit (\d+)$/.exec(marker);
  if (exit) return { run: true, exitCode: Number(exit[1]) };
  const skip = /^skip\s*[—-]\s*(.{10,})$/.exec(marker);
  if (skip) return { run: false, reason: skip[1]! };
  throw new Error(`README.md:${line - 1}: readme-test marker "${marker}": expected "exit N" or "skip — <why, at least 10 characters>"`);
}
