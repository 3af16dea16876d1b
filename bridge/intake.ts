import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { describeIssues } from '../config/errors.js';
import { decodeCloudEvent } from '../messaging/cloudevents.js';
import type { RecordContext } from '../messaging/kafka.js';
import type { InboundRecord } from '../messaging/records.js';
import { IntakeEvent } from '../schemas/cloudevents.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { Policy } from '../schemas/policy.js';
import { priorityOf } from '../domain/priority.js';
import { CaseTypeKey, DistrictKey, PriorityKey, ProvinceKey, StageKey } from '../workflows/search-attributes.js';
import { referralMemo } from '../workflows/memo.js';
import type { ReferralWorkflowInput } from '../workflows/types.js';
import type { DeadLetters } from './dead-letters.js';
import { retryTransient } from './retry.js';

export interface IntakeDeps {
  client: Client;
  taskQueue: string;
  policy: Policy;
  deadLetters: DeadLetters;
  logger: Logger;
}

export type IntakeOutcome = 'started' | 'duplicate' | 'dead-lettered';

export function referralWorkflowId(referralId: string): string {
  return `referral-${referralId}`;
}

/**
 * Handles one intake record: a valid `referral.detected.v1` starts the referral's workflow
 * (a second copy starts nothing), anything else goes to the dead-letter topic. It returns
 * only when Temporal accepted the start or the record was dead-lettered: the caller then commits.
 */
export function createIntakeHandler(deps: IntakeDeps) {
  const log = deps.logger.child({ component: 'intake' });
  return async function handleIntakeRecord(record: InboundRecord, ctx: RecordContext): Promise<IntakeOutcome> {
    const where = { topic: record.topic, partition: record.partition, offset: record.offset };
    const decoded = decodeCloudEvent(record);
    if (!decoded.ok) {
      await deps.deadLetters.send(record, 'INVALID_CLOUDEVENT', decoded.errors, ctx);
      return 'dead-lettered';
    }
    const parsed = IntakeEvent.safeParse(decoded.event);
    if (!parsed.success) {
      await deps.deadLetters.send(record, 'INVALID_EVENT', describeIssues(parsed.error), ctx);
      return 'dead-lettered';
    }
    const event = parsed.data;
    const workflowId = referralWorkflowId(event.data.referralId);
    const outcome = await retryTransient(() => startReferral(deps, event.data, { eventId: event.id, source: event.source }), {
      ctx,
      onRetry: (err, attempt, delayMs) =>
        log.warn({ ...where, workflowId, attempt, delayMs, err: { name: err.name, message: err.message } }, 'Temporal did not accept the start yet: retrying'),
    });
    log.info({ ...where, workflowId, eventId: event.id, outcome }, outcome === 'started' ? 'referral started' : 'duplicate intake ignored');
    return outcome;
  };
}

export interface StartDeps {
  client: Client;
  taskQueue: string;
  policy: Policy;
}

/**
 * Starts a referral's workflow: the one path into the engine for Kafka intake and the API alike.
 * A referral id is opened once, ever: a second start (a redelivered message, a resubmission) is a
 * 'duplicate' and changes nothing.
 */
export async function startReferral(deps: StartDeps, referral: ReferralDetectedV1, intake: { eventId: string; source: string }): Promise<'started' | 'duplicate'> {
  const { facts } = referral;
  const input: ReferralWorkflowInput = { referral, policy: deps.policy, intake };
  try {
    await deps.client.workflow.start('referralWorkflow', {
      workflowId: referralWorkflowId(referral.referralId),
      taskQueue: deps.taskQueue,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // The workflow's memo from the start: it is rewritten only when a track moves.
      memo: { summary: referralMemo(deps.policy.version) },
      typedSearchAttributes: [
        { key: StageKey, value: 'ROUTING' },
        { key: CaseTypeKey, value: facts.caseType },
        { key: ProvinceKey, value: facts.location.province },
        { key: DistrictKey, value: facts.location.district },
        { key: PriorityKey, value: priorityOf(facts.flags) },
      ],
    });
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'duplicate';
    throw err;
  }
}
