import type { CaseFacts } from '../schemas/intake.js';
import type { ChargeRule, FlagAddition } from '../schemas/policy.js';
import type { RoutingDecision } from '../schemas/routing.js';

export interface ChargeMatrix {
  chargeMatrix: ChargeRule[];
  flagAdditions: FlagAddition[];
}

/**
 * Routes a case with the charge matrix: the first rule whose conditions all hold decides,
 * then flag additions bring in more agencies. Never throws: an input no rule covers is an
 * explicit UNROUTED decision, which the workflow escalates.
 */
export function routeCase(matrix: ChargeMatrix, facts: CaseFacts): RoutingDecision {
  if (facts.caseType === 'UNKNOWN') {
    return { status: 'UNROUTED', reason: 'case type is UNKNOWN: screening must classify it before routing' };
  }
  const rule = matrix.chargeMatrix.find((r) => ruleMatches(r, facts));
  if (!rule) {
    return {
      status: 'UNROUTED',
      reason: `no charge-matrix rule covers ${facts.caseType} in ${facts.location.province} with these flags`,
    };
  }
  const supporting = new Set(rule.supporting);
  const informed = new Set(rule.informed);
  for (const addition of matrix.flagAdditions) {
    if (!facts.flags[addition.flag]) continue;
    addition.supporting.forEach((a) => supporting.add(a));
    addition.informed.forEach((a) => informed.add(a));
  }
  // Each agency gets one role: lead over supporting over informed.
  supporting.delete(rule.lead);
  informed.delete(rule.lead);
  supporting.forEach((a) => informed.delete(a));
  return {
    status: 'ROUTED',
    ruleId: rule.id,
    caseType: rule.when.caseType,
    lead: rule.lead,
    supporting: [...supporting].sort(),
    informed: [...informed].sort(),
    escalationCommittee: rule.escalationCommittee,
  };
}

function ruleMatches(rule: ChargeRule, facts: CaseFacts): boolean {
  const w = rule.when;
  if (w.caseType !== facts.caseType) return false;
  if (w.provinces && !w.provinces.includes(facts.location.province)) return false;
  const flagConditions = ['crossBorder', 'minor', 'victimAbroad', 'organisedNetwork'] as const;
  return flagConditions.every((flag) => w[flag] === undefined || w[flag] === facts.flags[flag]);
}
