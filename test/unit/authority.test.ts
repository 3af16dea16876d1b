/**
 * The authority table in the policy (schemas/policy.ts, config/policy.ts): every action has its
 * row, grants name a relation or an agency, caps name real steps; the working days an extension
 * adds (domain/calendar.ts); the relations an actor has (workflows/authority.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/errors.js';
import { parsePolicy } from '../../config/policy.js';
import { workingDaysAdded } from '../../domain/calendar.js';
import { actionEventTypes } from '../../schemas/actions.js';
import { authorityActions } from '../../schemas/policy.js';
import { relationsOf } from '../../workflows/authority.js';
import { repoRoot } from '../support/stack-paths.js';

interface Doc {
  authority?: { actions: Record<string, unknown>; extensions: { steps: Record<string, unknown> } };
}
const raw = () => JSON.parse(readFileSync(`${repoRoot}config/policy.json`, 'utf8')) as Doc & { authority: NonNullable<Doc['authority']> };
const problems = (doc: unknown): string[] => {
  try {
    parsePolicy(doc, 'policy.json');
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('the authority table of the policy', () => {
  it('has one row per action the API and Kafka take', () => {
    expect([...authorityActions].sort()).toEqual(actionEventTypes.map((t) => t.replace(/^referral\.action\./, '').replace(/\.v1$/, '')).sort());
    expect(Object.keys(parsePolicy(raw(), 'policy.json').authority!.actions).sort()).toEqual([...authorityActions].sort());
  });

  it('names every missing row, a grant with both or neither of relation and agency, an unknown relation, and a cap of no step', () => {
    const doc = raw();
    delete doc.authority.actions['withdraw'];
    doc.authority.actions['acknowledge'] = [{ relation: 'lead', agency: 'FIA', roles: ['OFFICER'] }];
    doc.authority.actions['verdict'] = [{ relation: 'judge', roles: ['OFFICER'] }];
    doc.authority.extensions.steps['noSuchStep'] = { maxCount: 1, maxWorkingDays: 1 };
    const found = problems(doc);
    expect(found.some((p) => p.startsWith('authority.actions.acknowledge.0'))).toBe(true);
    expect(found.some((p) => p.startsWith('authority.actions.verdict.0.relation'))).toBe(true);
    const second = raw();
    delete second.authority.actions['withdraw'];
    second.authority.extensions.steps['noSuchStep'] = { maxCount: 1, maxWorkingDays: 1 };
    expect(problems(second)).toEqual([
      'authority.actions.withdraw: missing (every action needs its row; [] for nobody)',
      'authority.extensions.steps.noSuchStep: not a step of sla',
    ]);
  });

  it('leaves a policy without the table valid (referrals started with it keep the old rules)', () => {
    const doc: Doc = raw();
    delete doc.authority;
    expect(parsePolicy(doc, 'policy.json').authority).toBeUndefined();
  });
});

describe('working days an extension adds', () => {
  const calendar = { timeZone: 'Asia/Karachi', weekend: [6, 7], holidays: ['2026-12-25'] };
  const at = (iso: string) => Date.parse(iso);
  it('counts the working dates after the old deadline up to the new one, at least one', () => {
    // Monday 14:00 Karachi → Friday 14:00: Tue, Wed, Thu, Fri.
    expect(workingDaysAdded(at('2026-12-07T09:00:00Z'), at('2026-12-11T09:00:00Z'), calendar)).toBe(4);
    // Friday → next Tuesday: Mon, Tue (the weekend does not count).
    expect(workingDaysAdded(at('2026-12-11T09:00:00Z'), at('2026-12-15T09:00:00Z'), calendar)).toBe(2);
    // Over Christmas (a holiday): Thu 24th → Mon 28th counts only Monday.
    expect(workingDaysAdded(at('2026-12-24T09:00:00Z'), at('2026-12-28T09:00:00Z'), calendar)).toBe(1);
    // A few hours the same day still count one.
    expect(workingDaysAdded(at('2026-12-07T05:00:00Z'), at('2026-12-07T08:00:00Z'), calendar)).toBe(1);
    expect(workingDaysAdded(at('2026-12-07T05:00:00Z'), at('2026-12-07T05:00:00Z'), calendar)).toBe(0);
  });
});

describe('relations of an actor to a referral', () => {
  const ctx = { lead: 'FIA', supporting: ['SWD'], informed: ['MOI'], location: { province: 'PUNJAB', district: 'Lahore' } };
  it('are its routing, its committee of the jurisdiction, operator by role, and partner only when the action concerns it', () => {
    expect(relationsOf({ actorId: 'a', agency: 'FIA', role: 'SUPERVISOR' }, ctx)).toEqual(['lead']);
    expect(relationsOf({ actorId: 'a', agency: 'MOI', role: 'OPERATOR' }, ctx)).toEqual(['informed', 'operator']);
    expect(relationsOf({ actorId: 'a', agency: 'AHTC-D', role: 'SUPERVISOR', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } }, ctx)).toEqual(['committee']);
    expect(relationsOf({ actorId: 'a', agency: 'AHTC-D', role: 'SUPERVISOR', jurisdiction: { province: 'BALOCHISTAN', district: 'GWADAR' } }, ctx)).toEqual([]);
    expect(relationsOf({ actorId: 'a', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM' }, ctx)).toEqual([]);
    expect(relationsOf({ actorId: 'a', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM' }, ctx, true)).toEqual(['partner']);
  });
});
