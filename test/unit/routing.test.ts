/**
 * Charge-matrix routing (domain/routing.ts) with the shipped policy (config/policy.json), and
 * priority (domain/priority.ts). Routing must never throw: an uncovered case is UNROUTED.
 */
import { describe, it, expect } from 'vitest';
import { priorityOf } from '../../domain/priority.js';
import { routeCase, type ChargeMatrix } from '../../domain/routing.js';
import type { CaseFacts, CaseFlags } from '../../schemas/intake.js';
import type { ChargeRule } from '../../schemas/policy.js';
import type { RoutedDecision, RoutingDecision } from '../../schemas/routing.js';
import { shippedPolicy } from '../support/fixtures.js';

const policy = shippedPolicy();
const matrix: ChargeMatrix = { chargeMatrix: policy.chargeMatrix, flagAdditions: policy.flagAdditions };

const noFlags: CaseFlags = { minor: false, victimAbroad: false, victimAtRisk: false, organisedNetwork: false, crossBorder: false };

function facts(caseType: CaseFacts['caseType'], flags: Partial<CaseFlags> = {}, province: CaseFacts['location']['province'] = 'PUNJAB'): CaseFacts {
  return {
    caseType,
    flags: { ...noFlags, ...flags },
    location: { province, district: 'Lahore' },
    indicators: [],
    victimCount: 1,
  };
}

function routed(decision: RoutingDecision): RoutedDecision {
  if (decision.status !== 'ROUTED') throw new Error(`expected ROUTED, got UNROUTED: ${decision.reason}`);
  return decision;
}

function rule(id: string, when: ChargeRule['when'], lead: ChargeRule['lead']): ChargeRule {
  return { id, when, lead, supporting: [], informed: [], escalationCommittee: 'AHTC-D' };
}

describe('routeCase with the shipped charge matrix', () => {
  it('routes cross-border trafficking to FIA by rule tip-cross-border', () => {
    const d = routed(routeCase(matrix, facts('TRAFFICKING', { crossBorder: true })));
    expect(d.ruleId).toBe('tip-cross-border');
    expect(d.lead).toBe('FIA');
    expect(d.caseType).toBe('TRAFFICKING');
    expect(d.supporting).toEqual(['SWD']);
    expect(d.informed).toEqual(['MOI']);
    expect(d.escalationCommittee).toBe('AHTC-D');
  });

  it('routes internal trafficking (not cross-border, victim not abroad) to POLICE', () => {
    const d = routed(routeCase(matrix, facts('TRAFFICKING', { crossBorder: false, victimAbroad: false })));
    expect(d.ruleId).toBe('tip-internal');
    expect(d.lead).toBe('POLICE');
    expect(d.supporting).toEqual(['SWD']);
    expect(d.informed).toEqual(['MOI']);
  });

  it('routes trafficking with the victim abroad (not cross-border) to FIA and informs MOFA', () => {
    const d = routed(routeCase(matrix, facts('TRAFFICKING', { crossBorder: false, victimAbroad: true })));
    expect(d.ruleId).toBe('tip-victim-abroad');
    expect(d.lead).toBe('FIA');
    expect(d.informed).toContain('MOFA');
    expect(d.informed).toContain('MOI');
  });

  it('routes smuggling to FIA', () => {
    const d = routed(routeCase(matrix, facts('SMUGGLING')));
    expect(d.ruleId).toBe('som');
    expect(d.lead).toBe('FIA');
    expect(d.caseType).toBe('SMUGGLING');
    expect(d.supporting).toEqual([]);
    expect(d.informed).toEqual(['MOI']);
  });

  it('routes a fraudulent job ad to NCCIA with PTA, PKCERT and BEOE supporting and MOPHRD informed', () => {
    const d = routed(routeCase(matrix, facts('FRAUDULENT_JOB_AD')));
    expect(d.ruleId).toBe('fja');
    expect(d.lead).toBe('NCCIA');
    expect([...d.supporting].sort()).toEqual(['BEOE', 'PKCERT', 'PTA']);
    expect(d.informed).toEqual(['MOPHRD']);
  });

  describe('flag additions', () => {
    it('a minor brings in SWD as supporting', () => {
      const without = routed(routeCase(matrix, facts('FRAUDULENT_JOB_AD')));
      expect(without.supporting).not.toContain('SWD');
      const d = routed(routeCase(matrix, facts('FRAUDULENT_JOB_AD', { minor: true })));
      expect(d.supporting).toContain('SWD');
      expect(d.supporting).toEqual(expect.arrayContaining(['PTA', 'PKCERT', 'BEOE']));
    });

    it('a victim at risk brings in SWD as supporting', () => {
      const d = routed(routeCase(matrix, facts('SMUGGLING', { victimAtRisk: true })));
      expect(d.supporting).toEqual(['SWD']);
    });

    it('an organised network informs AHTC-N', () => {
      const without = routed(routeCase(matrix, facts('SMUGGLING')));
      expect(without.informed).not.toContain('AHTC-N');
      const d = routed(routeCase(matrix, facts('SMUGGLING', { organisedNetwork: true })));
      expect(d.informed).toContain('AHTC-N');
      expect(d.informed).toContain('MOI');
    });

    it('a victim abroad informs MOFA whatever rule matched', () => {
      const d = routed(routeCase(matrix, facts('FRAUDULENT_JOB_AD', { victimAbroad: true })));
      expect(d.ruleId).toBe('fja');
      expect(d.informed).toEqual(expect.arrayContaining(['MOFA', 'MOPHRD']));
      const s = routed(routeCase(matrix, facts('SMUGGLING', { victimAbroad: true })));
      expect(s.informed).toContain('MOFA');
    });

    it('adds each agency once, even when rule and flag both name it', () => {
      const d = routed(routeCase(matrix, facts('TRAFFICKING', { victimAbroad: true, minor: true })));
      expect(d.informed.filter((a) => a === 'MOFA')).toHaveLength(1);
      expect(d.supporting.filter((a) => a === 'SWD')).toHaveLength(1);
    });
  });

  it('never lists the lead as supporting or informed', () => {
    const m: ChargeMatrix = {
      chargeMatrix: [{ ...rule('swd-lead', { caseType: 'TRAFFICKING' }, 'SWD'), supporting: ['SWD', 'FIA'], informed: ['SWD', 'MOI'] }],
      flagAdditions: [{ flag: 'minor', supporting: ['SWD'], informed: ['SWD'] }],
    };
    const d = routed(routeCase(m, facts('TRAFFICKING', { minor: true })));
    expect(d.lead).toBe('SWD');
    expect(d.supporting).not.toContain('SWD');
    expect(d.informed).not.toContain('SWD');
    expect(d.supporting).toEqual(['FIA']);
    expect(d.informed).toEqual(['MOI']);

    // And over every shipped rule with every flag raised.
    const allFlags: CaseFlags = { minor: true, victimAbroad: true, victimAtRisk: true, organisedNetwork: true, crossBorder: true };
    for (const caseType of ['TRAFFICKING', 'SMUGGLING', 'FRAUDULENT_JOB_AD'] as const) {
      for (const flags of [noFlags, allFlags]) {
        const r = routed(routeCase(matrix, facts(caseType, flags)));
        expect(r.supporting).not.toContain(r.lead);
        expect(r.informed).not.toContain(r.lead);
      }
    }
  });

  it('returns UNROUTED with a reason for an UNKNOWN case type, never throwing', () => {
    let decision: RoutingDecision | undefined;
    expect(() => {
      decision = routeCase(matrix, facts('UNKNOWN', { minor: true, crossBorder: true }));
    }).not.toThrow();
    expect(decision?.status).toBe('UNROUTED');
    expect(decision).toEqual({ status: 'UNROUTED', reason: expect.stringMatching(/UNKNOWN/) });
  });

  it('returns UNROUTED naming the case type and province when no row covers the case', () => {
    const withoutSmuggling: ChargeMatrix = {
      chargeMatrix: policy.chargeMatrix.filter((r) => r.when.caseType !== 'SMUGGLING'),
      flagAdditions: policy.flagAdditions,
    };
    const decision = routeCase(withoutSmuggling, facts('SMUGGLING', {}, 'BALOCHISTAN'));
    expect(decision.status).toBe('UNROUTED');
    if (decision.status !== 'UNROUTED') return;
    expect(decision.reason).toContain('SMUGGLING');
    expect(decision.reason).toContain('BALOCHISTAN');
  });

  it('does not match a rule restricted to other provinces', () => {
    const m: ChargeMatrix = {
      chargeMatrix: [rule('sindh-only', { caseType: 'SMUGGLING', provinces: ['SINDH'] }, 'POLICE')],
      flagAdditions: [],
    };
    expect(routed(routeCase(m, facts('SMUGGLING', {}, 'SINDH'))).ruleId).toBe('sindh-only');
    const punjab = routeCase(m, facts('SMUGGLING', {}, 'PUNJAB'));
    expect(punjab.status).toBe('UNROUTED');

    // With a fall-back row after it, Punjab goes to the fall-back.
    const withFallback: ChargeMatrix = {
      chargeMatrix: [...m.chargeMatrix, rule('anywhere', { caseType: 'SMUGGLING' }, 'FIA')],
      flagAdditions: [],
    };
    expect(routed(routeCase(withFallback, facts('SMUGGLING', {}, 'PUNJAB'))).ruleId).toBe('anywhere');
    expect(routed(routeCase(withFallback, facts('SMUGGLING', {}, 'SINDH'))).ruleId).toBe('sindh-only');
  });

  it('lets the first matching row decide: order matters', () => {
    const general = rule('general', { caseType: 'SMUGGLING' }, 'FIA');
    const specific = rule('minor-specific', { caseType: 'SMUGGLING', minor: true }, 'POLICE');
    const minorCase = facts('SMUGGLING', { minor: true });

    const specificFirst = routed(routeCase({ chargeMatrix: [specific, general], flagAdditions: [] }, minorCase));
    expect(specificFirst.ruleId).toBe('minor-specific');
    expect(specificFirst.lead).toBe('POLICE');

    const generalFirst = routed(routeCase({ chargeMatrix: [general, specific], flagAdditions: [] }, minorCase));
    expect(generalFirst.ruleId).toBe('general');
    expect(generalFirst.lead).toBe('FIA');
  });

  it('in the shipped matrix, cross-border wins over victim-abroad because it comes first', () => {
    const d = routed(routeCase(matrix, facts('TRAFFICKING', { crossBorder: true, victimAbroad: true })));
    expect(d.ruleId).toBe('tip-cross-border');
    // MOFA still comes in through the victimAbroad flag addition.
    expect(d.informed).toContain('MOFA');
  });

  it('matches a rule flag condition of false only when the flag is false', () => {
    const m: ChargeMatrix = { chargeMatrix: [rule('not-minor', { caseType: 'SMUGGLING', minor: false }, 'FIA')], flagAdditions: [] };
    expect(routeCase(m, facts('SMUGGLING', { minor: false })).status).toBe('ROUTED');
    expect(routeCase(m, facts('SMUGGLING', { minor: true })).status).toBe('UNROUTED');
  });
});

describe('priorityOf', () => {
  it('is URGENT for a minor or a victim at risk', () => {
    expect(priorityOf({ ...noFlags, minor: true })).toBe('URGENT');
    expect(priorityOf({ ...noFlags, victimAtRisk: true })).toBe('URGENT');
    expect(priorityOf({ ...noFlags, minor: true, victimAbroad: true, organisedNetwork: true })).toBe('URGENT');
  });

  it('is HIGH for a victim abroad or an organised network', () => {
    expect(priorityOf({ ...noFlags, victimAbroad: true })).toBe('HIGH');
    expect(priorityOf({ ...noFlags, organisedNetwork: true })).toBe('HIGH');
  });

  it('is NORMAL otherwise, cross-border alone included', () => {
    expect(priorityOf(noFlags)).toBe('NORMAL');
    expect(priorityOf({ ...noFlags, crossBorder: true })).toBe('NORMAL');
  });
});
