import {
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ReferralActivities } from '../../activities/index.js';
import { priorityOf } from '../../domain/priority.js';
import type { Notification } from '../../schemas/notifications.js';
import type { RoutedDecision } from '../../schemas/routing.js';
import { closeReferralUpdate, referralStateQuery } from '../messages.js';
import { CaseTypeKey, DistrictKey, LeadAgencyKey, PriorityKey, ProvinceKey, StageKey } from '../search-attributes.js';
import type { CloseRequest, ReferralOutcome, ReferralState, ReferralWorkflowInput } from '../types.js';

/** Pure, local computations: short timeout, a few fast retries. */
const routingActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
};

/** Kafka may be down for a while: keep retrying with backoff, never give up on a notification. */
const notificationActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

const routing = proxyActivities<ReferralActivities>(routingActivityOptions);
const notify = proxyActivities<ReferralActivities>(notificationActivityOptions);

/** CloudEvents `source`-independent id: the same step of the same referral always gets the same id. */
function eventId(step: string, recipient: string): string {
  return `${workflowInfo().workflowId}/${step}/${recipient}`;
}

/**
 * The first version of the referral workflow (route, notify, wait for close), kept unchanged so
 * that referrals started before the lifecycle version still replay. Never used for new referrals.
 */
export async function skeletonV1(input: ReferralWorkflowInput): Promise<ReferralOutcome> {
  const { referral, policy } = input;
  const { facts } = referral;
  const priority = priorityOf(facts.flags);
  const state: ReferralState = {
    referralId: referral.referralId,
    stage: 'ROUTING',
    policyVersion: policy.version,
    timeline: [
      { at: referral.detectedAt, action: 'DETECTED', actor: input.intake.source, agency: referral.sourceAgency },
    ],
  };
  let closeRequest: CloseRequest | undefined;

  setHandler(referralStateQuery, () => state);
  setHandler(
    closeReferralUpdate,
    (request) => {
      closeRequest = request;
      state.timeline.push({ at: new Date().toISOString(), action: 'CLOSED', ...request });
      return state;
    },
    {
      validator: (request) => {
        if (closeRequest) throw ApplicationFailure.nonRetryable('the referral is already closed', 'InvalidTransition');
        if (!request.reason?.trim()) throw ApplicationFailure.nonRetryable('reason: a reason is required', 'InvalidAction');
      },
    },
  );

  upsertSearchAttributes([
    { key: StageKey, value: state.stage },
    { key: CaseTypeKey, value: facts.caseType },
    { key: ProvinceKey, value: facts.location.province },
    { key: DistrictKey, value: facts.location.district },
    { key: PriorityKey, value: priority },
  ]);

  const decision = await routing.routeReferral(facts, {
    chargeMatrix: policy.chargeMatrix,
    flagAdditions: policy.flagAdditions,
  });
  state.routing = decision;
  const now = new Date().toISOString();
  const base = {
    referralId: referral.referralId,
    province: facts.location.province,
    district: facts.location.district,
    priority,
    policyVersion: policy.version,
  };

  if (decision.status === 'ROUTED') {
    state.stage = 'ROUTED';
    state.timeline.push({ at: now, action: 'ROUTED', actor: 'charge-matrix', agency: decision.lead, reason: decision.ruleId });
    upsertSearchAttributes([
      { key: StageKey, value: state.stage },
      { key: LeadAgencyKey, value: decision.lead },
    ]);
    await notify.publishNotifications(routedNotifications(decision, base, now));
  } else {
    state.stage = 'UNROUTED';
    state.timeline.push({ at: now, action: 'UNROUTED', actor: 'charge-matrix', agency: 'AHTC-D', reason: decision.reason });
    upsertSearchAttributes([{ key: StageKey, value: state.stage }]);
    log.warn('referral could not be routed', { referralId: referral.referralId });
    await notify.publishNotifications([
      {
        id: eventId('unrouted', 'AHTC-D'),
        type: 'referral.unrouted.v1',
        subject: referral.referralId,
        time: now,
        recipient: 'AHTC-D',
        data: { ...base, caseType: facts.caseType, stage: state.stage, recipient: 'AHTC-D', reason: decision.reason },
      },
    ]);
  }

  await condition(() => closeRequest !== undefined);
  state.stage = 'CLOSED';
  state.closedReason = closeRequest?.reason;
  upsertSearchAttributes([{ key: StageKey, value: state.stage }]);
  return { referralId: referral.referralId, stage: state.stage, closedReason: state.closedReason };
}

type NotificationBase = {
  referralId: string;
  province: ReferralWorkflowInput['referral']['facts']['location']['province'];
  district: string;
  priority: ReturnType<typeof priorityOf>;
  policyVersion: string;
};

function routedNotifications(decision: RoutedDecision, base: NotificationBase, now: string): Notification[] {
  const recipients = [
    { agency: decision.lead, role: 'LEAD' as const, actionRequired: 'acknowledge the referral and take the lead' },
    ...decision.supporting.map((agency) => ({ agency, role: 'SUPPORTING' as const, actionRequired: 'support the lead agency' })),
    ...decision.informed.map((agency) => ({ agency, role: 'INFORMED' as const, actionRequired: 'none: for information' })),
  ];
  return recipients.map(({ agency, role, actionRequired }) => ({
    id: eventId('routed', agency),
    type: 'referral.routed.v1',
    subject: base.referralId,
    time: now,
    recipient: agency,
    data: {
      ...base,
      caseType: decision.caseType,
      stage: 'ROUTED',
      recipient: agency,
      role,
      lead: decision.lead,
      ruleId: decision.ruleId,
      actionRequired,
    },
  }));
}
