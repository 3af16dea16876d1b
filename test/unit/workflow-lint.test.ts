/**
 * The determinism rules of eslint.config.js are in force: workflow code (workflows/, domain/)
 * that imports Node built-ins or I/O libraries, or uses Math.random or setTimeout, is reported;
 * the same code elsewhere is not; a floating promise is reported anywhere.
 *
 * Typed linting (projectService) only lints files that belong to the TypeScript project, so the
 * probe code is linted as the text of an existing file; the file itself is neither read nor changed.
 */
import { describe, it, expect } from 'vitest';
import { ESLint } from 'eslint';
import { repoRoot } from '../support/stack-paths.js';

const eslint = new ESLint({ cwd: repoRoot });

const WORKFLOW_FILE = 'workflows/referral.ts';
const DOMAIN_FILE = 'domain/routing.ts';
const NON_WORKFLOW_FILE = 'activities/index.ts';

interface Finding {
  ruleId: string | null;
  message: string;
}

async function lint(code: string, filePath: string): Promise<Finding[]> {
  const [result] = await eslint.lintText(code, { filePath });
  if (!result) throw new Error('ESLint returned no result');
  const findings = result.messages.map((m) => ({ ruleId: m.ruleId, message: m.message }));
  // A parsing or configuration error would make every assertion below meaningless.
  const fatal = result.messages.filter((m) => m.fatal === true || m.ruleId === null);
  expect(fatal, JSON.stringify(fatal)).toEqual([]);
  return findings;
}

const ruleIds = (findings: Finding[]): string[] => findings.map((f) => f.ruleId ?? '(none)');

const DETERMINISM_RULES = ['@typescript-eslint/no-restricted-imports', 'no-restricted-globals', 'no-restricted-properties'];

const probes = {
  nodeFs: `import { readFileSync } from 'node:fs';\nexport const text = readFileSync('x', 'utf8');\n`,
  kafkajs: `import { Kafka } from 'kafkajs';\nexport const kafka = new Kafka({ brokers: ['127.0.0.1:9092'] });\n`,
  mathRandom: `export function pick(): number {\n  return Math.random();\n}\n`,
  setTimeout: `export function later(fn: () => void): void {\n  setTimeout(fn, 1_000);\n}\n`,
};

describe('determinism rules for workflow code', { timeout: 60_000 }, () => {
  it('reports a node:fs import in workflows/', async () => {
    const findings = await lint(probes.nodeFs, WORKFLOW_FILE);
    expect(findings).toContainEqual({ ruleId: '@typescript-eslint/no-restricted-imports', message: expect.stringContaining('node:fs') });
  });

  it('reports a kafkajs import in workflows/', async () => {
    const findings = await lint(probes.kafkajs, WORKFLOW_FILE);
    expect(findings).toContainEqual({ ruleId: '@typescript-eslint/no-restricted-imports', message: expect.stringContaining('kafkajs') });
  });

  it('reports Math.random() in workflows/', async () => {
    const findings = await lint(probes.mathRandom, WORKFLOW_FILE);
    expect(findings).toContainEqual({ ruleId: 'no-restricted-properties', message: expect.stringContaining('Math.random') });
  });

  it('reports setTimeout in workflows/', async () => {
    const findings = await lint(probes.setTimeout, WORKFLOW_FILE);
    expect(findings).toContainEqual({ ruleId: 'no-restricted-globals', message: expect.stringContaining('setTimeout') });
  });

  it('applies the same rules to domain/, which workflows import', async () => {
    expect(ruleIds(await lint(probes.nodeFs, DOMAIN_FILE))).toContain('@typescript-eslint/no-restricted-imports');
    expect(ruleIds(await lint(probes.mathRandom, DOMAIN_FILE))).toContain('no-restricted-properties');
  });

  it('allows @temporalio/workflow and type-only imports of activities in workflows/', async () => {
    const code = [
      `import { sleep } from '@temporalio/workflow';`,
      `import type { ReferralActivities } from '../activities/index.js';`,
      `export type A = ReferralActivities;`,
      `export async function wait(): Promise<void> {`,
      `  await sleep('1 second');`,
      `}`,
      ``,
    ].join('\n');
    const findings = await lint(code, WORKFLOW_FILE);
    expect(ruleIds(findings).filter((r) => DETERMINISM_RULES.includes(r))).toEqual([]);
  });

  it('reports a value import of activities in workflows/', async () => {
    const code = `import { createActivities } from '../activities/index.js';\nexport const make = createActivities;\n`;
    expect(ruleIds(await lint(code, WORKFLOW_FILE))).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('does not apply them outside workflow code', async () => {
    for (const code of Object.values(probes)) {
      const findings = await lint(code, NON_WORKFLOW_FILE);
      expect(ruleIds(findings).filter((r) => DETERMINISM_RULES.includes(r)), code).toEqual([]);
    }
  });
});

describe('floating promises', { timeout: 60_000 }, () => {
  const floating = `async function send(): Promise<void> {}\nexport function go(): void {\n  send();\n}\n`;

  it.each([WORKFLOW_FILE, NON_WORKFLOW_FILE, 'bridge/intake.ts'])('are reported in %s', async (filePath) => {
    expect(ruleIds(await lint(floating, filePath))).toContain('@typescript-eslint/no-floating-promises');
  });

  it('are not reported when awaited', async () => {
    const awaited = `async function send(): Promise<void> {}\nexport async function go(): Promise<void> {\n  await send();\n}\n`;
    expect(ruleIds(await lint(awaited, NON_WORKFLOW_FILE))).not.toContain('@typescript-eslint/no-floating-promises');
  });
});
