import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readmeBlocks } from '../support/readme-blocks.js';
import { repoRoot } from '../support/stack-paths.js';

describe("README's command blocks", () => {
  const blocks = readmeBlocks(`${repoRoot}README.md`);

  it('each is run by test/readme unless it says why not, and the repository files the blocks name exist', () => {
    const skipped = blocks.filter((b) => !b.expect.run);
    const failing = blocks.filter((b) => b.expect.run && b.expect.exitCode !== 0);
    console.info(`README: ${blocks.length} bash blocks: ${blocks.length - skipped.length} run (${failing.length} expected to fail), ${skipped.length} skipped`);
    expect(blocks.length).toBeGreaterThan(15);
    // A skip is for what cannot run beside a local stack (Docker, the cluster profile), not for a block that fails.
    expect(skipped.length).toBeLessThanOrEqual(6);
    const named = blocks.flatMap((b) => [...b.script.matchAll(/(?:^|[\s"'=(])((?:scripts|config|test|cli|bench)\/[\w./-]+\.(?:json|ts|sh|mjs))/g)].map((m) => ({ line: b.line, path: m[1]! })));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !existsSync(`${repoRoot}${n.path}`))).toEqual([]);
  });
});
