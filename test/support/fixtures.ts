import { readFileSync } from 'node:fs';
import { parsePolicy } from '../../config/policy.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import type { Policy } from '../../schemas/policy.js';
import type { ReferralWorkflowInput } from '../../workflows/types.js';
import { repoRoot } from './stack-paths.js';

export function shippedPolicy(): Policy {
  const path = `${repoRoot}config/policy.json`;
  return parsePolicy(JSON.parse(readFileSync(path, 'utf8')), path);
}

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${counter}`;
}

export function detected(overrides: Partial<Omit<ReferralDetectedV1, 'facts'>> & { facts?: Partial<ReferralDetectedV1['facts']> } = {}): ReferralDetectedV1 {
  const { facts, ...rest } = overrides;
  return {
    referralId: uniqueId('REF'),
    sourceAgency: 'FIA',
    detectedAt: '2026-11-24T09:00:00.000Z',
    persons: [{ role: 'VICTIM', name: 'Test Victim Zainab', age: 19, contact: '+92-300-1234567', health: 'injured hand' }],
    ...rest,
    facts: {
      caseType: 'TRAFFICKING',
      flags: { minor: false, victimAbroad: false, victimAtRisk: false, organisedNetwork: false, crossBorder: true },
      location: { province: 'PUNJAB', district: 'Lahore' },
      indicators: ['debt bondage'],
      victimCount: 1,
      ...facts,
    },
  };
}

export function workflowInput(referral: ReferralDetectedV1, policy: Policy = shippedPolicy()): ReferralWorkflowInput {
  return { referral, policy, intake: { eventId: `detected-${referral.referralId}`, source: 'urn:test' } };
}
