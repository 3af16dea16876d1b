/**
 * Policy loading (config/policy.ts): the shipped file parses; a bad document is rejected with
 * every field at fault named, as a ConfigError (code CONFIG_INVALID) naming its source.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it, expect } from 'vitest';
import { ConfigError } from '../../config/errors.js';
import { loadPolicy, parsePolicy } from '../../config/policy.js';
import { DEFAULT_DEDUPE_WINDOW } from '../../workflows/dedupe-window.js';
import { repoRoot } from '../support/stack-paths.js';

const shippedPath = `${repoRoot}config/policy.json`;

/** A fresh, mutable copy of the shipped policy document. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const shipped = (): any => JSON.parse(readFileSync(shippedPath, 'utf8'));

/** Parses and returns the ConfigError it must throw. */
function rejection(raw: unknown, source = 'test-policy.json'): ConfigError {
  try {
    parsePolicy(raw, source);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected parsePolicy to throw');
}

const tmp = mkdtempSync(join(tmpdir(), 'policy-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parsePolicy', () => {
  it('accepts config/policy.json', () => {
    const policy = parsePolicy(shipped(), shippedPath);
    expect(policy.version).toBe('2026.12-1');
    expect(policy.chargeMatrix.map((r) => r.id)).toEqual(['tip-cross-border', 'tip-victim-abroad', 'tip-internal', 'som', 'fja']);
    expect(policy.escalationLadder.length).toBeGreaterThan(1);
  });

  it('reads the window of applied action ids the tracks carry across continue-as-new', () => {
    expect(parsePolicy(shipped(), shippedPath).actions).toEqual({ dedupeWindow: { maxIds: 1000, maxAgeDays: 30 } });
    const doc = shipped();
    doc.actions = { dedupeWindow: { maxIds: 50, maxAgeDays: 7 } };
    expect(parsePolicy(doc, 'p.json').actions.dedupeWindow).toEqual({ maxIds: 50, maxAgeDays: 7 });
  });

  it('defaults the window when a policy has no actions section, or names only one bound', () => {
    const doc = shipped();
    delete doc.actions;
    expect(parsePolicy(doc, 'p.json').actions).toEqual({ dedupeWindow: DEFAULT_DEDUPE_WINDOW });
    expect(DEFAULT_DEDUPE_WINDOW).toEqual({ maxIds: 1000, maxAgeDays: 30 });
    doc.actions = {};
    expect(parsePolicy(doc, 'p.json').actions.dedupeWindow).toEqual(DEFAULT_DEDUPE_WINDOW);
    doc.actions = { dedupeWindow: { maxIds: 200 } };
    expect(parsePolicy(doc, 'p.json').actions.dedupeWindow).toEqual({ maxIds: 200, maxAgeDays: 30 });
  });

  it('rejects a window that is not a positive bound, naming each field', () => {
    const doc = shipped();
    doc.actions = { dedupeWindow: { maxIds: 0, maxAgeDays: -1 } };
    expect(rejection(doc).problems.map((p) => p.split(': ')[0])).toEqual(['actions.dedupeWindow.maxIds', 'actions.dedupeWindow.maxAgeDays']);
    doc.actions = { dedupeWindow: { maxIds: 2.5, maxAgeDays: 30, maxBytes: 10 } };
    expect(rejection(doc).problems.map((p) => p.split(': ')[0]).sort()).toEqual(['actions.dedupeWindow', 'actions.dedupeWindow.maxIds']);
  });

  it('rejects a charge-matrix lead that is not an agency code, at chargeMatrix.0.lead', () => {
    const doc = shipped();
    doc.chargeMatrix[0].lead = 'INTERPOL';
    const err = rejection(doc);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.source).toBe('test-policy.json');
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^chargeMatrix\.0\.lead: /);
  });

  it('rejects a holiday not written YYYY-MM-DD, at calendar.holidays.0', () => {
    const doc = shipped();
    doc.calendar.holidays[0] = '05/02/2026';
    const err = rejection(doc);
    expect(err.problems).toEqual(['calendar.holidays.0: a date as YYYY-MM-DD']);
  });

  it('rejects duplicate rule ids, naming the second one', () => {
    const doc = shipped();
    doc.chargeMatrix[3].id = 'tip-cross-border';
    const err = rejection(doc);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^chargeMatrix\.3\.id: /);
    expect(err.problems[0]).toContain('tip-cross-border');
  });

  it('rejects a ladder whose atFraction does not increase', () => {
    const doc = shipped();
    doc.escalationLadder[2].atFraction = 1; // same as the breach rung before it
    const err = rejection(doc);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^escalationLadder\.2\.atFraction: /);

    const decreasing = shipped();
    decreasing.escalationLadder[1].atFraction = 0.5; // below the reminder at 0.75
    expect(rejection(decreasing).problems[0]).toMatch(/^escalationLadder\.1\.atFraction: /);
  });

  it('rejects an unknown top-level key', () => {
    const doc = shipped();
    doc.chargeMatrixx = [];
    const err = rejection(doc);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^\(root\): /);
    expect(err.problems[0]).toContain('chargeMatrixx');
  });

  it('reports several shape problems at once', () => {
    const doc = shipped();
    doc.chargeMatrix[0].lead = 'INTERPOL';
    doc.calendar.holidays[0] = 'Eid';
    doc.escalationLadder[0].recipient = 'NOBODY';
    doc.extra = true;
    const err = rejection(doc);
    const fields = err.problems.map((p) => p.split(': ')[0]);
    expect(fields).toEqual(expect.arrayContaining(['chargeMatrix.0.lead', 'calendar.holidays.0', 'escalationLadder.0.recipient', '(root)']));
    expect(err.problems).toHaveLength(4);
    // The message lists each one too.
    for (const p of err.problems) expect(err.message).toContain(p);
  });

  it('reports several consistency problems at once', () => {
    const doc = shipped();
    doc.chargeMatrix[1].id = 'tip-cross-border';
    doc.chargeMatrix[4].id = 'som';
    doc.escalationLadder[3].atFraction = 1.5;
    const err = rejection(doc);
    expect(err.problems.map((p) => p.split(': ')[0])).toEqual(['chargeMatrix.1.id', 'chargeMatrix.4.id', 'escalationLadder.3.atFraction']);
  });
});

describe('loadPolicy', () => {
  it('loads the shipped file', async () => {
    const policy = await loadPolicy(shippedPath);
    expect(policy.chargeMatrix[0]?.id).toBe('tip-cross-border');
  });

  it('throws ConfigError CONFIG_INVALID naming the path for a missing file', async () => {
    const path = join(tmp, 'does-not-exist.json');
    const err: unknown = await loadPolicy(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.code).toBe('CONFIG_INVALID');
    expect(ce.source).toBe(path);
    expect(ce.message).toContain(path);
    expect(ce.problems[0]).toMatch(/cannot read/);
  });

  it('throws ConfigError CONFIG_INVALID naming the path for invalid JSON', async () => {
    const path = join(tmp, 'broken.json');
    writeFileSync(path, '{ "version": "1", ');
    const err: unknown = await loadPolicy(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.code).toBe('CONFIG_INVALID');
    expect(ce.source).toBe(path);
    expect(ce.message).toContain(path);
    expect(ce.problems[0]).toMatch(/not valid JSON/);
  });

  it('names the file and the field for a valid JSON file with a bad field', async () => {
    const path = join(tmp, 'bad-lead.json');
    const doc = shipped();
    doc.chargeMatrix[0].lead = 'INTERPOL';
    writeFileSync(path, JSON.stringify(doc));
    await expect(loadPolicy(path)).rejects.toMatchObject({ code: 'CONFIG_INVALID', source: path });
    await expect(loadPolicy(path)).rejects.toThrow(/chargeMatrix\.0\.lead/);
  });
});
