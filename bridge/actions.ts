import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { notificationTopic, type Topics } from '../config/env.js';
import { describeIssues } from '../config/errors.js';
import { decodeCloudEvent, encodeCloudEvent } from '../messaging/cloudevents.js';
import { consume, type ConsumerRun, type KafkaConnection, type Publisher, type RecordContext } from '../messaging/kafka.js';
import type { InboundRecord, OutboundRecord } from '../messaging/records.js';
import { ActionEvent, actionEventTypes, resolveAction, type ActionTrack } from '../schemas/actions.js';
import { AgencyCode, ReferralId } from '../schemas/common.js';
import type { ActionAcceptedV1, ActionAnswerType, ActionRejectedV1, ActionRejectionCode, ActionRejectionReason } from '../schemas/notifications.js';
import { justiceWorkflowId, protectionWorkflowId } from '../workflows/messages.js';
import type { DeadLetters } from './dead-letters.js';
import { referralWorkflowId } from './intake.js';
import { retryTransient, ShutdownAbandon } from './retry.js';

/**
 * The actions bridge: agencies act on a referral by sending `referral.action.<name>.v1`
 * CloudEvents to the actions topic; each becomes a Temporal update of the referral's workflow
 * (or of its justice / protection track), and the acting agency gets an answer on its own
 * notification topic: `referral.action.accepted.v1` or `referral.action.rejected.v1`.
 *
 * Exactly-once effect: the update id is derived from the CloudEvent's source and id, so a
 * redelivered action is deduplicated by Temporal and answered again with the first outcome; the
 * offset is committed only once the outcome is known and the answer is on the broker.
 */
export interface ActionsDeps {
  client: Client;
  /** Answers go to `<notifyPrefix><agency>` (partners share `<notifyPrefix>partners`). */
  topics: Topics;
  publisher: Publisher;
  deadLetters: DeadLetters;
  logger: Logger;
  /** CloudEvents `source` of the answers. */
  source?: string;
  /** Bound of one update call; a call that takes longer is abandoned and retried with the same update id. */
  attemptTimeoutMs?: number;
}

export type ActionHandled = 'accepted' | 'rejected' | 'dead-lettered';

const ANSWER = {
  accepted: 'referral.action.accepted.v1',
  rejected: 'referral.action.rejected.v1',
} as const satisfies Record<string, ActionAnswerType>;

/** Rejection types thrown by the workflows' update validators (workflows/guards.ts) → answer codes. */
const FAILURE_CODES: Record<string, ActionRejectionCode> = {
  InvalidAction: 'VALIDATION',
  InvalidTransition: 'INVALID_TRANSITION',
  NotAParty: 'NOT_A_PARTY',
  Forbidden: 'FORBIDDEN',
};

/** Actions in flight per partition; those on one referral (one record key) still run one at a time. */
export const ACTIONS_RECORDS_IN_FLIGHT = 16;

/** Agencies without a topic of their own read the partners' topic (as the workflows' notifications do). */
const SHARED_PARTNER_TOPIC = new Set(['PARTNER', 'NGO_HOTLINE', 'EMBASSY']);

export function answerTopic(topics: Topics, agency: string): string {
  return notificationTopic(topics, SHARED_PARTNER_TOPIC.has(agency) ? 'partners' : agency);
}

/** Temporal's update id for an action: CloudEvents ids are unique per source, so both are part of it. */
export function actionUpdateId(source: string, id: string): string {
  return JSON.stringify([source, id]);
}

export function workflowIdFor(track: ActionTrack, referralId: string): string {
  if (track === 'justice') return justiceWorkflowId(referralId);
  if (track === 'protection') return protectionWorkflowId(referralId);
  return referralWorkflowId(referralId);
}

type Outcome = { outcome: 'ACCEPTED' } | { outcome: 'REJECTED'; reason: ActionRejectionReason };

/** A passing condition: the record is retried (with the same update id). */
class RetryLater extends Error {
  override readonly name = 'RetryLater';
}

/**
 * Handles one record of the actions topic. It returns only when the action was accepted or
 * rejected and the answer is on the broker, or the record was dead-lettered: the caller then commits.
 */
export function createActionsHandler(deps: ActionsDeps) {
  const log = deps.logger.child({ component: 'actions' });
  const source = deps.source ?? 'urn:referral-engine:actions-bridge';
  const attemptTimeoutMs = deps.attemptTimeoutMs ?? 20_000;

  const publishAnswer = async (out: OutboundRecord, ctx: RecordContext, where: object) =>
    retryTransient(() => deps.publisher.publish([out]), {
      ctx,
      onRetry: (err, attempt, delayMs) =>
        log.warn({ ...where, topic: out.topic, attempt, delayMs, err: { name: err.name, message: err.message } }, 'answer topic unavailable: retrying'),
    });

  return async function handleActionRecord(record: InboundRecord, ctx: RecordContext): Promise<ActionHandled> {
    const where = { topic: record.topic, partition: record.partition, offset: record.offset };
    const decoded = decodeCloudEvent(record);
    const parsed = decoded.ok ? ActionEvent.safeParse(decoded.event) : undefined;

    if (!parsed?.success) {
      const errors = !decoded.ok ? decoded.errors : describeIssues(parsed!.error);
      const raw = readRaw(record, decoded.ok ? decoded.event : undefined);
      const reason = !decoded.ok ? 'INVALID_CLOUDEVENT' : raw.type !== undefined && !actionEventTypes.includes(raw.type as never) ? 'UNKNOWN_EVENT_TYPE' : 'INVALID_EVENT';
      await deps.deadLetters.send(record, reason, errors, ctx);
      if (raw.agency === undefined) {
        log.warn({ ...where, fields: errors.map(fieldOf) }, 'invalid action: no acting agency to answer');
        return 'dead-lettered';
      }
      const actionId = raw.id ?? `${record.topic}/${record.partition}/${record.offset}`;
      const data: ActionRejectedV1 = {
        ...(raw.referralId ? { referralId: raw.referralId } : {}),
        actionId,
        ...(raw.type ? { action: raw.type } : {}),
        outcome: 'REJECTED',
        reason: { code: 'VALIDATION', message: errors.join('; '), ...fieldOrNot(errors[0] ?? ''), errors },
      };
      await publishAnswer(answerRecord(deps.topics, source, raw.agency, ANSWER.rejected, actionId, raw.referralId ?? actionId, data), ctx, where);
      log.info({ ...where, eventId: actionId, action: raw.type, agency: raw.agency, outcome: 'REJECTED', code: 'VALIDATION' }, 'invalid action rejected');
      return 'dead-lettered';
    }

    const event = parsed.data;
    const { referralId, actor } = event.data;
    const { track, update, payload } = resolveAction(event);
    const workflowId = workflowIdFor(track, referralId);
    const updateId = actionUpdateId(event.source, event.id);
    const outcome = await retryTransient(() => applyAction(deps.client, { workflowId, track, referralId, update, payload, updateId }, ctx, attemptTimeoutMs), {
      ctx,
      onRetry: (err, attempt, delayMs) =>
        log.warn({ ...where, workflowId, update, attempt, delayMs, err: { name: err.name, message: err.message } }, 'Temporal did not take the action yet: retrying'),
    });

    const common = { referralId, actionId: event.id, action: event.type };
    const out =
      outcome.outcome === 'ACCEPTED'
        ? answerRecord(deps.topics, source, actor.agency, ANSWER.accepted, event.id, referralId, { ...common, outcome: 'ACCEPTED' } satisfies ActionAcceptedV1)
        : answerRecord(deps.topics, source, actor.agency, ANSWER.rejected, event.id, referralId, { ...common, outcome: 'REJECTED', reason: outcome.reason } satisfies ActionRejectedV1);
    await publishAnswer(out, ctx, where);
    // Ids, codes and field names only: messages may quote values.
    log.info(
      {
        ...where,
        workflowId,
        update,
        eventId: event.id,
        agency: actor.agency,
        outcome: outcome.outcome,
        ...(outcome.outcome === 'REJECTED' ? { code: outcome.reason.code, field: outcome.reason.field } : {}),
      },
      outcome.outcome === 'ACCEPTED' ? 'action accepted' : 'action rejected',
    );
    return outcome.outcome === 'ACCEPTED' ? 'accepted' : 'rejected';
  };
}

interface Target {
  workflowId: string;
  track: ActionTrack;
  referralId: string;
  update: string;
  payload: Record<string, unknown>;
  updateId: string;
}

/** One attempt: the update's outcome, or a throw for a passing failure (retried by the caller). */
async function applyAction(client: Client, target: Target, ctx: RecordContext, timeoutMs: number): Promise<Outcome> {
  try {
    await bounded(client, ctx, timeoutMs, () =>
      client.workflow.getHandle(target.workflowId).executeUpdate(target.update, { args: [target.payload], updateId: target.updateId }),
    );
    return { outcome: 'ACCEPTED' };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return { outcome: 'REJECTED', reason: rejectionOf(err, target.update) };
    // An update to a closed workflow fails with NOT_FOUND "workflow execution already completed".
    if (err instanceof WorkflowNotFoundError || /workflow execution already completed/i.test((err as Error).message ?? '')) {
      return { outcome: 'REJECTED', reason: await whyNotFound(client, target) };
    }
    throw err;
  }
}

function rejectionOf(err: WorkflowUpdateFailedError, update: string): ActionRejectionReason {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type && FAILURE_CODES[cause.type]) {
    return { code: FAILURE_CODES[cause.type]!, message: cause.message, ...fieldOrNot(cause.message, 'data.') };
  }
  // No handler for the update (e.g. a referral started before the action existed), or another failure.
  return { code: 'INVALID_TRANSITION', message: `${update} is not possible on this referral${cause?.message ? ` (${cause.message})` : ''}` };
}

/** The update found no running workflow: an unknown referral, a closed one, or a track not (yet) started. */
async function whyNotFound(client: Client, target: Target): Promise<ActionRejectionReason> {
  const statusOf = async (workflowId: string) => {
    try {
      return (await client.workflow.getHandle(workflowId).describe()).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };
  const status = await statusOf(target.workflowId);
  // Running again: it continued as new between the update and the describe. Try again.
  if (status === 'RUNNING') throw new RetryLater(`${target.workflowId} is running: the update is tried again`);
  const what = target.track === 'referral' ? 'the referral' : `the ${target.track} track of the referral`;
  if (status !== undefined) return { code: 'REFERRAL_CLOSED', message: `${what} is closed (${status.toLowerCase()})`, field: 'data.referralId' };
  if (target.track !== 'referral') {
    const parent = await statusOf(referralWorkflowId(target.referralId));
    if (parent === 'RUNNING') return { code: 'INVALID_TRANSITION', message: `${what} has not started (screening must confirm the case first)` };
    if (parent !== undefined) return { code: 'REFERRAL_CLOSED', message: `the referral is closed (${parent.toLowerCase()})`, field: 'data.referralId' };
  }
  return { code: 'UNKNOWN_REFERRAL', message: `referralId: there is no referral ${target.referralId}`, field: 'data.referralId' };
}

/**
 * Runs one Temporal call, keeping the consumer's group membership alive, abandoning it when the
 * bridge stops or the call takes longer than `timeoutMs` (the update id makes a retry safe).
 */
async function bounded<T>(client: Client, ctx: RecordContext, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const ticker = setInterval(() => {
    if (ctx.isStopping()) controller.abort();
    ctx.heartbeat().catch(() => undefined);
  }, 1_000);
  try {
    return await client.withAbortSignal(controller.signal, call);
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
  }
}

function answerRecord(topics: Topics, source: string, agency: string, type: ActionAnswerType, actionId: string, subject: string, data: ActionAcceptedV1 | ActionRejectedV1): OutboundRecord {
  return encodeCloudEvent(answerTopic(topics, agency), {
    // Deterministic: a redelivered action is answered with the same id, so the agency can drop the copy.
    id: `${actionId}/answer`,
    source,
    type,
    subject,
    time: new Date().toISOString(),
    data,
  });
}

interface RawAction {
  id?: string;
  type?: string;
  referralId?: string;
  /** Only a known agency code: an answer goes to that agency's (existing) topic. */
  agency?: AgencyCode;
}

/** What can be read from an invalid action to answer it: nothing is trusted beyond its shape. */
function readRaw(record: InboundRecord, decoded: Record<string, unknown> | undefined): RawAction {
  let event = decoded;
  if (!event) {
    const body = parseJson(record.value);
    if (!isObject(body)) return {};
    const structured = (record.headers['content-type'] ?? '').toLowerCase().startsWith('application/cloudevents+json');
    event = structured ? body : { id: record.headers['ce_id'], type: record.headers['ce_type'], data: body };
  }
  const data = isObject(event['data']) ? event['data'] : {};
  const actor = isObject(data['actor']) ? data['actor'] : {};
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);
  const agency = AgencyCode.safeParse(actor['agency']);
  const referralId = ReferralId.safeParse(data['referralId']);
  return {
    id: text(event['id'], 200),
    type: text(event['type'], 200),
    referralId: referralId.success ? referralId.data : undefined,
    agency: agency.success ? agency.data : undefined,
  };
}

function parseJson(value: Buffer | null): unknown {
  if (!value || value.length === 0) return undefined;
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fieldOrNot(error: string, prefix = ''): { field?: string } {
  const field = fieldOf(error);
  return field === '(unspecified)' ? {} : { field: `${prefix}${field}` };
}

/** The field an error names (`path: message`); never the message, which may quote a value. */
function fieldOf(error: string): string {
  const match = /^([A-Za-z_][A-Za-z0-9_.-]*): /.exec(error);
  return match ? match[1]! : '(unspecified)';
}

export interface ActionsBridgeOptions extends ActionsDeps {
  kafka: KafkaConnection;
  groupId: string;
  actionsTopic: string;
}

/** Consumes the actions topic into Temporal updates; each offset is committed only after its answer is sent. */
export async function startActionsBridge(options: ActionsBridgeOptions): Promise<ConsumerRun> {
  const handle = createActionsHandler(options);
  const log = options.logger.child({ component: 'actions-bridge' });
  const run = await consumeNamed(options.actionsTopic, () => consume(options.kafka, {
    groupId: options.groupId,
    topics: [options.actionsTopic],
    // Actions on different referrals overlap; a referral's own actions (same key) stay in order.
    recordsInFlight: ACTIONS_RECORDS_IN_FLIGHT,
    handle: async (record, ctx) => {
      try {
        await handle(record, ctx);
      } catch (err) {
        if (!(err instanceof ShutdownAbandon)) {
          log.error({ err: { name: (err as Error).name, message: (err as Error).message }, offset: record.offset }, 'action record failed');
        }
        throw err;
      }
    },
  }));
  log.info({ topic: options.actionsTopic, groupId: options.groupId }, 'actions bridge consuming');
  return run;
}

/** A start-up failure names the topic (kafkajs says only "This server does not host this topic-partition"). */
async function consumeNamed(topic: string, start: () => Promise<ConsumerRun>): Promise<ConsumerRun> {
  try {
    return await start();
  } catch (err) {
    throw new Error(`actions topic "${topic}" (KAFKA_TOPIC_ACTIONS) could not be consumed: ${(err as Error).message}`, { cause: err });
  }
}
