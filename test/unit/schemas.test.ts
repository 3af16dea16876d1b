/**
 * Intake schemas (schemas/intake.ts, schemas/cloudevents.ts) and the issue renderer
 * (config/errors.ts): bad input is rejected with the exact path of the field at fault.
 */
import { describe, it, expect } from 'vitest';
import type { z } from 'zod';
import { describeIssues } from '../../config/errors.js';
import { IntakeEvent } from '../../schemas/cloudevents.js';
import { ReferralDetectedV1 } from '../../schemas/intake.js';
import { sampleReferrals } from '../../scripts/samples/referrals.js';

type Input = z.input<typeof ReferralDetectedV1>;

const valid = (): Input => ({
  referralId: 'REF-000123',
  sourceAgency: 'FIA',
  detectedAt: '2026-11-24T09:00:00.000Z',
  facts: {
    caseType: 'TRAFFICKING',
    flags: { crossBorder: true },
    location: { province: 'PUNJAB', district: 'Lahore' },
  },
  persons: [{ role: 'VICTIM', name: 'Test Victim Zainab' }],
});

/** The dotted paths of every issue, e.g. `facts.location.province`. */
function issuePaths(input: unknown): string[] {
  const result = ReferralDetectedV1.safeParse(input);
  if (result.success) throw new Error('expected the input to be rejected');
  return result.error.issues.map((i) => i.path.join('.'));
}

describe('ReferralDetectedV1', () => {
  it('accepts the sample referrals', () => {
    const samples = sampleReferrals('X');
    expect(samples.length).toBeGreaterThan(0);
    for (const sample of samples) {
      const result = ReferralDetectedV1.safeParse(sample);
      expect(result.success, result.success ? '' : describeIssues(result.error).join('\n')).toBe(true);
    }
  });

  it('accepts the minimal valid referral', () => {
    expect(ReferralDetectedV1.safeParse(valid()).success).toBe(true);
  });

  it('rejects an unknown province at facts.location.province', () => {
    const input = valid();
    const bad = { ...input, facts: { ...input.facts, location: { province: 'ATLANTIS', district: 'Lahore' } } };
    expect(issuePaths(bad)).toEqual(['facts.location.province']);
  });

  it('rejects a referralId with unsafe characters at referralId', () => {
    for (const referralId of ['REF 000123', 'REF/000123', '-REF00123', 'REF:0001;DROP']) {
      expect(issuePaths({ ...valid(), referralId })).toEqual(['referralId']);
    }
    const result = ReferralDetectedV1.safeParse({ ...valid(), referralId: 'REF/000123' });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.issues[0]?.message).toMatch(/letters, digits/);
  });

  it('rejects an unknown extra field (strict), at the top level and inside facts', () => {
    const top = ReferralDetectedV1.safeParse({ ...valid(), victimName: 'Someone' });
    expect(top.success).toBe(false);
    if (!top.success) {
      expect(top.error.issues[0]?.code).toBe('unrecognized_keys');
      expect(top.error.issues[0]?.message).toContain('victimName');
    }
    const input = valid();
    expect(issuePaths({ ...input, facts: { ...input.facts, victimAddress: 'x' } })).toEqual(['facts']);
    expect(issuePaths({ ...input, facts: { ...input.facts, flags: { crossBorder: true, urgent: true } } })).toEqual(['facts.flags']);
  });

  it('rejects a person with no name at persons.0.name', () => {
    expect(issuePaths({ ...valid(), persons: [{ role: 'VICTIM' }] })).toEqual(['persons.0.name']);
    expect(issuePaths({ ...valid(), persons: [{ role: 'VICTIM', name: '' }] })).toEqual(['persons.0.name']);
  });

  it('rejects a bad URL at facts.online.url', () => {
    const input = valid();
    const bad = { ...input, facts: { ...input.facts, online: { platform: 'social-media', url: 'not a url' } } };
    expect(issuePaths(bad)).toEqual(['facts.online.url']);
  });

  it('reports several bad fields at once', () => {
    const input = valid();
    const bad = {
      ...input,
      referralId: 'bad id!',
      facts: { ...input.facts, location: { province: 'ATLANTIS', district: 'Lahore' } },
      persons: [{ role: 'VICTIM' }],
    };
    expect(issuePaths(bad).sort()).toEqual(['facts.location.province', 'persons.0.name', 'referralId']);
  });

  it('fills defaults: flags, indicators, victimCount and persons', () => {
    const parsed = ReferralDetectedV1.parse({
      referralId: 'REF-000124',
      sourceAgency: 'NCCIA',
      detectedAt: '2026-11-24T09:00:00+05:00',
      facts: { caseType: 'FRAUDULENT_JOB_AD', location: { province: 'SINDH', district: 'Karachi' } },
    });
    expect(parsed.facts.flags).toEqual({ minor: false, victimAbroad: false, victimAtRisk: false, organisedNetwork: false, crossBorder: false });
    expect(parsed.facts.indicators).toEqual([]);
    expect(parsed.facts.victimCount).toBe(1);
    expect(parsed.persons).toEqual([]);

    const partial = ReferralDetectedV1.parse(valid());
    expect(partial.facts.flags).toEqual({ minor: false, victimAbroad: false, victimAtRisk: false, organisedNetwork: false, crossBorder: true });
  });
});

describe('IntakeEvent', () => {
  const event = () => ({
    specversion: '1.0',
    id: 'evt-1',
    source: 'urn:agency:fia',
    type: 'referral.detected.v1',
    time: '2026-11-24T09:00:00Z',
    subject: 'REF-000123',
    data: valid(),
  });

  it('accepts a referral.detected.v1 event', () => {
    const result = IntakeEvent.safeParse(event());
    expect(result.success).toBe(true);
  });

  it('rejects an unknown type at type', () => {
    const result = IntakeEvent.safeParse({ ...event(), type: 'referral.detected.v9' });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.issues.map((i) => i.path.join('.'))).toEqual(['type']);
  });

  it('rejects a specversion other than 1.0 at specversion', () => {
    for (const specversion of ['0.3', '1', '2.0']) {
      const result = IntakeEvent.safeParse({ ...event(), specversion });
      expect(result.success).toBe(false);
      if (!result.success) expect(result.error.issues.map((i) => i.path.join('.'))).toEqual(['specversion']);
    }
  });

  it('reports a bad field of the data under data.', () => {
    const e = event();
    const result = IntakeEvent.safeParse({ ...e, data: { ...e.data, persons: [{ role: 'VICTIM' }] } });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.issues.map((i) => i.path.join('.'))).toEqual(['data.persons.0.name']);
  });
});

describe('describeIssues', () => {
  it('renders one "path: message" line per issue', () => {
    const result = ReferralDetectedV1.safeParse({ ...valid(), referralId: 'bad id!', persons: [{ role: 'VICTIM' }] });
    expect(result.success).toBe(false);
    if (result.success) return;
    const lines = describeIssues(result.error);
    expect(lines).toHaveLength(result.error.issues.length);
    expect(lines).toContain('referralId: letters, digits, ".", "_" and "-" only');
    expect(lines.some((l) => l.startsWith('persons.0.name: '))).toBe(true);
    for (const line of lines) expect(line).toMatch(/^[\w.]+: \S/);
  });

  it('applies a prefix and names the root as (root)', () => {
    const nested = ReferralDetectedV1.safeParse({ ...valid(), persons: [{ role: 'VICTIM' }] });
    expect(nested.success).toBe(false);
    if (!nested.success) expect(describeIssues(nested.error, 'data')[0]).toMatch(/^data\.persons\.0\.name: /);

    const root = ReferralDetectedV1.safeParse('not an object');
    expect(root.success).toBe(false);
    if (!root.success) expect(describeIssues(root.error)[0]).toMatch(/^\(root\): /);
  });
});
