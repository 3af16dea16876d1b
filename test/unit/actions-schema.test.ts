/**
 * Action schemas (schemas/actions.ts): one CloudEvent type per workflow update, each parsing a
 * valid sample and rejecting a bad one with the field named; the table of targets names updates
 * that exist in workflows/messages.ts.
 */
import { describe, it, expect } from 'vitest';
import { describeIssues } from '../../config/errors.js';
import { ActionEvent, actionEventTypes, actionTargets, Actor, resolveAction, type ActionEventType } from '../../schemas/actions.js';
import { ActionAcceptedV1, ActionRejectedV1, NotificationType } from '../../schemas/notifications.js';
import * as messages from '../../workflows/messages.js';

const officer = { actorId: 'fia-officer-7', agency: 'FIA', role: 'OFFICER' };
const supervisor = { ...officer, role: 'SUPERVISOR' };
const partner = { actorId: 'iom-case-3', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM' };

/** Per type: a valid payload (without referralId) and a bad variant with the field it must name. */
const samples: Record<ActionEventType, { valid: Record<string, unknown>; bad: Record<string, unknown>; field: string }> = {
  'referral.action.acknowledge.v1': {
    valid: { actor: officer, reason: 'case officer assigned' },
    bad: { actor: { ...officer, role: 'CHIEF' } },
    field: 'data.actor.role',
  },
  'referral.action.complete-screening.v1': {
    valid: { actor: officer, outcome: 'CONFIRMED', caseType: 'SMUGGLING', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' },
    bad: { actor: officer, outcome: 'CONFIRMED', victimIdentified: 'yes', victimAtRisk: false, consent: 'GIVEN' },
    field: 'data.victimIdentified',
  },
  'referral.action.reclassify.v1': {
    valid: { actor: supervisor, caseType: 'TRAFFICKING', reason: 'victims found abroad' },
    bad: { actor: supervisor, caseType: 'TRAFFICKING' },
    field: 'data.reason',
  },
  'referral.action.withdraw.v1': {
    valid: { actor: supervisor, reason: 'duplicate referral' },
    bad: { actor: supervisor, reason: '   ' },
    field: 'data.reason',
  },
  'referral.action.extend-deadline.v1': {
    valid: { actor: supervisor, track: 'justice', step: 'registration', by: { days: 3 }, reason: 'court holiday' },
    bad: { actor: supervisor, step: 'acknowledge', by: { weeks: 1 }, reason: 'x' },
    field: 'data.by',
  },
  'referral.action.reassign-step.v1': {
    valid: { actor: supervisor, step: 'acknowledge', assignee: 'fia-officer-9', reason: 'officer on leave' },
    bad: { actor: supervisor, step: 'acknowledge', assignee: 'fia-officer-9', reason: 'x', track: 'appeals' },
    field: 'data.track',
  },
  'referral.action.register-case.v1': {
    valid: { actor: officer, decision: 'REGISTERED', caseNumber: 'FIR-112/2026' },
    bad: { actor: officer, decision: 'MAYBE' },
    field: 'data.decision',
  },
  'referral.action.investigation-report.v1': {
    valid: { actor: officer, kind: 'INTERIM' },
    bad: { actor: officer, kind: 'DRAFT' },
    field: 'data.kind',
  },
  'referral.action.charge-decision.v1': {
    valid: { actor: { ...officer, agency: 'PROSECUTION' }, decision: 'CHARGED' },
    bad: { actor: { ...officer, agency: 'COURT' }, decision: 'CHARGED' },
    field: 'data.actor.agency',
  },
  'referral.action.trial-update.v1': {
    valid: { actor: { ...officer, agency: 'PROSECUTION' }, note: 'hearing adjourned to next month' },
    bad: { actor: { ...officer, agency: 'PROSECUTION' } },
    field: 'data.note',
  },
  'referral.action.verdict.v1': {
    valid: { actor: { ...officer, agency: 'PROSECUTION' }, verdict: 'PARTLY_CONVICTED' },
    bad: { actor: { ...officer, agency: 'PROSECUTION' }, verdict: 'GUILTY' },
    field: 'data.verdict',
  },
  'referral.action.appeal.v1': {
    valid: { actor: { ...officer, agency: 'PROSECUTION' }, by: 'DEFENCE' },
    bad: { actor: { ...officer, agency: 'PROSECUTION' }, by: 'JUDGE' },
    field: 'data.by',
  },
  'referral.action.content-block.v1': {
    valid: { actor: { ...officer, agency: 'PTA' }, result: 'BLOCKED' },
    bad: { actor: { ...officer, agency: 'PTA' }, result: 'BLOCKED', url: 'https://example.invalid/ad' },
    field: 'data',
  },
  'referral.action.licence-check.v1': {
    valid: { actor: { ...officer, agency: 'BEOE' }, result: 'UNLICENSED' },
    bad: { actor: { agency: 'BEOE', role: 'OFFICER' }, result: 'UNLICENSED' },
    field: 'data.actor.actorId',
  },
  'referral.action.protection-placement.v1': {
    valid: { actor: { ...officer, agency: 'SWD' }, placement: 'SHELTER' },
    bad: { actor: { ...officer, agency: 'SWD' }, placement: 'HOTEL' },
    field: 'data.placement',
  },
  'referral.action.reintegration-plan.v1': {
    valid: {
      actor: { ...officer, agency: 'SWD' },
      partner: 'IOM',
      tasks: [
        { taskId: 'T1', kind: 'SHELTER', partner: 'IOM' },
        { taskId: 'T2', kind: 'LIVELIHOOD', partner: 'SSDO' },
      ],
    },
    bad: {
      actor: { ...officer, agency: 'SWD' },
      partner: 'IOM',
      tasks: [
        { taskId: 'T1', kind: 'SHELTER', partner: 'IOM' },
        { taskId: 'T1', kind: 'MEDICAL', partner: 'IOM' },
      ],
    },
    field: 'data.tasks.1.taskId',
  },
  'referral.action.complete-task.v1': {
    valid: { actor: partner, taskId: 'T1', outcome: 'DONE', notes: 'shelter place found' },
    bad: { actor: { ...partner, organisation: undefined }, taskId: 'T1', outcome: 'DONE' },
    field: 'data.actor.organisation',
  },
  'referral.action.follow-up.v1': {
    valid: { actor: partner, month: 3, status: 'STABLE' },
    bad: { actor: partner, month: 2.5, status: 'STABLE' },
    field: 'data.month',
  },
};

function event(type: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { specversion: '1.0', id: `act-${type}`, source: 'urn:agency:test', type, time: '2026-11-24T09:00:00Z', data: { referralId: 'REF-000123', ...data }, ...extra };
}

function issues(input: unknown): string[] {
  const result = ActionEvent.safeParse(input);
  if (result.success) throw new Error('expected the event to be rejected');
  return describeIssues(result.error);
}

describe('ActionEvent', () => {
  it('has a sample for every action type', () => {
    expect(Object.keys(samples).sort()).toEqual([...actionEventTypes].sort());
    expect(actionEventTypes).toHaveLength(18);
    for (const type of actionEventTypes) expect(type).toMatch(/^referral\.action\.[a-z]+(-[a-z]+)*\.v1$/);
  });

  for (const [type, sample] of Object.entries(samples)) {
    it(`${type}: parses a valid sample and names the field of a bad one (${sample.field})`, () => {
      const parsed = ActionEvent.safeParse(event(type, sample.valid));
      expect(parsed.success, parsed.success ? '' : describeIssues(parsed.error).join('\n')).toBe(true);
      if (parsed.success) expect(parsed.data.type).toBe(type);

      const errors = issues(event(type, sample.bad));
      expect(errors.map((e) => e.slice(0, e.indexOf(': ')))).toEqual([sample.field]);
    });
  }

  it('rejects an unknown type at type', () => {
    expect(issues(event('referral.action.teleport.v1', samples['referral.action.acknowledge.v1'].valid))).toEqual([expect.stringMatching(/^type: Invalid discriminator value/)]);
    expect(issues(event('referral.detected.v1', {}))).toEqual([expect.stringMatching(/^type: /)]);
  });

  it('names every bad field at once, inside the data and in the CloudEvent context', () => {
    const bad = event('referral.action.acknowledge.v1', { referralId: 'REF 000123', actor: { actorId: '', agency: 'FIA', role: 'CHIEF' } }, { specversion: '0.3', id: '' });
    expect(issues(bad).map((e) => e.slice(0, e.indexOf(': '))).sort()).toEqual(
      ['data.actor.actorId', 'data.actor.role', 'data.referralId', 'id', 'specversion'].sort(),
    );
  });

  it('requires the referral id and the actor', () => {
    const { referralId: _r, ...withoutId } = event('referral.action.acknowledge.v1', { actor: officer }).data;
    expect(issues({ ...event('referral.action.acknowledge.v1', {}), data: withoutId }).map((e) => e.split(':')[0])).toEqual(['data.referralId']);
    expect(issues(event('referral.action.acknowledge.v1', {})).map((e) => e.split(':')[0])).toEqual(['data.actor']);
  });

  it('keeps unknown fields (possibly personal data) out: the data objects are strict', () => {
    const errors = issues(event('referral.action.acknowledge.v1', { actor: officer, victimName: 'Test Victim Zainab' }));
    expect(errors).toEqual([expect.stringMatching(/^data: Unrecognized key\(s\) in object: 'victimName'/)]);
    expect(issues(event('referral.action.acknowledge.v1', { actor: { ...officer, phone: '+92-300-1234567' } }))[0]).toMatch(/^data\.actor: Unrecognized key/);
  });
});

describe('Actor', () => {
  it('accepts every role and an optional organisation', () => {
    for (const role of ['OFFICER', 'SUPERVISOR', 'OPERATOR', 'PARTNER', 'ADMIN']) expect(Actor.safeParse({ ...officer, role }).success).toBe(true);
    expect(Actor.parse(partner)).toEqual(partner);
  });

  it('does not let a sender state assertedBy: only the bridge adds it, from the topic the action came on', () => {
    const result = Actor.safeParse({ ...officer, assertedBy: 'FIA' });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeIssues(result.error)).toEqual([expect.stringMatching(/^\(root\): Unrecognized key\(s\) in object: 'assertedBy'/)]);
    expect(issues(event('referral.action.acknowledge.v1', { actor: { ...officer, assertedBy: 'NCCIA' } }))).toEqual([
      expect.stringMatching(/^data\.actor: Unrecognized key\(s\) in object: 'assertedBy'/),
    ]);
  });

  it('names the organisation a partner must give', () => {
    const result = Actor.safeParse({ actorId: 'x1', agency: 'PARTNER', role: 'PARTNER' });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeIssues(result.error)).toEqual(['organisation: required when agency is PARTNER']);
  });
});

describe('actionTargets', () => {
  const updates = new Map<string, 'referral' | 'justice' | 'protection' | 'shared'>([
    ...[messages.acknowledgeUpdate, messages.completeScreeningUpdate, messages.reclassifyUpdate, messages.withdrawReferralUpdate].map((u) => [u.name, 'referral'] as const),
    ...[messages.extendDeadlineUpdate, messages.reassignStepUpdate].map((u) => [u.name, 'shared'] as const),
    ...[
      messages.registerCaseUpdate,
      messages.investigationReportUpdate,
      messages.chargeDecisionUpdate,
      messages.trialUpdateUpdate,
      messages.verdictUpdate,
      messages.appealUpdate,
      messages.contentBlockUpdate,
      messages.licenceCheckUpdate,
    ].map((u) => [u.name, 'justice'] as const),
    ...[messages.protectionPlacementUpdate, messages.reintegrationPlanUpdate, messages.completeTaskUpdate, messages.followUpUpdate].map((u) => [u.name, 'protection'] as const),
  ]);

  it('covers every action type, each with an update defined in workflows/messages.ts on the right workflow', () => {
    expect(Object.keys(actionTargets).sort()).toEqual([...actionEventTypes].sort());
    for (const [type, target] of Object.entries(actionTargets)) {
      const owner = updates.get(target.update);
      expect(owner, `${type} → ${target.update}`).toBeDefined();
      if (owner === 'shared') expect(target.trackFromData, type).toBe(true);
      else expect(target.track, type).toBe(owner);
    }
  });

  it('covers every agency update of the three workflows, each by exactly one action type', () => {
    const targeted = Object.values(actionTargets).map((t) => t.update);
    expect(new Set(targeted).size).toBe(targeted.length);
    expect([...targeted].sort()).toEqual([...updates.keys()].sort());
    // The first version's close stays reachable through withdraw only.
    expect(targeted).not.toContain(messages.closeReferralUpdate.name);
  });

  it('resolves the workflow, the update and its argument (data without referralId and track)', () => {
    const ack = ActionEvent.parse(event('referral.action.acknowledge.v1', samples['referral.action.acknowledge.v1'].valid));
    expect(resolveAction(ack)).toEqual({ track: 'referral', update: 'acknowledge', payload: { actor: officer, reason: 'case officer assigned' } });

    const extend = ActionEvent.parse(event('referral.action.extend-deadline.v1', samples['referral.action.extend-deadline.v1'].valid));
    expect(resolveAction(extend)).toEqual({
      track: 'justice',
      update: 'extendDeadline',
      payload: { actor: supervisor, step: 'registration', by: { days: 3 }, reason: 'court holiday' },
    });
    const { track: _t, ...onReferral } = samples['referral.action.extend-deadline.v1'].valid;
    expect(resolveAction(ActionEvent.parse(event('referral.action.extend-deadline.v1', onReferral))).track).toBe('referral');

    const task = ActionEvent.parse(event('referral.action.complete-task.v1', samples['referral.action.complete-task.v1'].valid));
    expect(resolveAction(task)).toMatchObject({ track: 'protection', update: 'completePartnerTask' });
  });
});

describe('answer events', () => {
  it('are notification types with strict data', () => {
    expect(NotificationType.options).toEqual(expect.arrayContaining(['referral.action.accepted.v1', 'referral.action.rejected.v1']));
    const accepted = { referralId: 'REF-000123', actionId: 'a-1', action: 'referral.action.acknowledge.v1', outcome: 'ACCEPTED' };
    expect(ActionAcceptedV1.parse(accepted)).toEqual(accepted);
    expect(ActionAcceptedV1.safeParse({ ...accepted, outcome: 'REJECTED' }).success).toBe(false);
    const rejected = { actionId: 'a-2', outcome: 'REJECTED', reason: { code: 'VALIDATION', message: 'data.actor.role: Invalid enum value', field: 'data.actor.role', errors: ['data.actor.role: Invalid enum value'] } };
    expect(ActionRejectedV1.parse(rejected)).toEqual(rejected);
    expect(ActionRejectedV1.safeParse({ ...rejected, reason: { code: 'NOPE', message: 'x' } }).success).toBe(false);
    expect(ActionRejectedV1.safeParse({ ...rejected, reason: undefined }).success).toBe(false);
  });
});
