import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { describeIssues } from '../config/errors.js';
import { decodeCloudEvent } from '../messaging/cloudevents.js';
import type { Publisher, RecordContext } from '../messaging/kafka.js';
import type { ActionRejectedV1 } from '../schemas/notifications.js';
import { answerRecord } from './answers.js';
import { checkIntakeSource, type SenderDirectory } from './senders.js';
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
import { referralWorkflowId } from '../workflows/ids.js';

export interface IntakeDeps {
  client: Client;
  taskQueue: string;
  policy: Policy;
  deadLetters: DeadLetters;
  logger: Logger;
  /** Who stands behind each intake topic (bridge/senders.ts). */
  senders: SenderDirectory;
  /** Answers a refused sender (ACTOR_MISMATCH) on its own topic. */
  publisher: Publisher;
  /** CloudEvents `source` of those answers. */
  source?: string;
}

export type IntakeOutcome = 'started' | 'duplicate' | 'dead-lettered';

export { referralWorkflowId };

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
    const sender = deps.senders.senderOf(record.topic);
    if (sender?.kind !== 'trusted') {
      const check = sender ? checkIntakeSource(sender, event.data.sourceAgency) : { ok: false as const, field: 'topic', message: `${record.topic}: no sender is known for this topic` };
      if (!check.ok) {
        await deps.deadLetters.send(record, 'ACTOR_MISMATCH', [check.message], ctx);
        if (sender) await answerRefusal(deps, ctx, deps.senders.notifyTopicOfSender(sender), event, check, (err, attempt, delayMs) =>
          log.warn({ ...where, attempt, delayMs, err: { name: err.name, message: err.message } }, 'answer topic unavailable: retrying'),
        );
        log.info({ ...where, eventId: event.id, code: 'ACTOR_MISMATCH', field: check.field }, 'intake refused: it names another agency than its topic');
        return 'dead-lettered';
      }
    }
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

/** A refused intake is answered like a refused action, so the sender learns of it on its own topic. */
async function answerRefusal(
  deps: IntakeDeps,
  ctx: RecordContext,
  topic: string,
  event: { id: string; type: string; data: { referralId: string } },
  check: { field: string; message: string },
  onRetry: (err: Error, attempt: number, delayMs: number) => void,
) {
  const data: ActionRejectedV1 = {
    referralId: event.data.referralId,
    actionId: event.id,
    action: event.type,
    outcome: 'REJECTED',
    reason: { code: 'ACTOR_MISMATCH', message: check.message, field: check.field },
  };
  const out = answerRecord(topic, deps.source ?? 'urn:referral-engine:intake-bridge', 'referral.action.rejected.v1', event.id, event.data.referralId, data);
  await retryTransient(() => deps.publisher.publish([out]), { ctx, onRetry });
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
