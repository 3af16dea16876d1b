import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { describeIssues } from '../config/errors.js';
import { decodeCloudEvent } from '../messaging/cloudevents.js';
import { consume, type ConsumerRun, type KafkaConnection, type Publisher, type RecordContext } from '../messaging/kafka.js';
import type { InboundRecord, OutboundRecord } from '../messaging/records.js';
import { ActionEvent, actionEventTypes, resolveAction, type ActionTrack } from '../schemas/actions.js';
import { AgencyCode, ReferralId } from '../schemas/common.js';
import type { ActionAcceptedV1, ActionAnswerType, ActionRejectedV1, ActionRejectionCode, ActionRejectionReason } from '../schemas/notifications.js';
import { justiceWorkflowId, protectionWorkflowId } from '../workflows/messages.js';
import type { DeadLetterReason, DeadLetters } from './dead-letters.js';
import { answerRecord } from './answers.js';
import { assertedByOf, checkActor, describeSender, type SenderDirectory } from './senders.js';
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
  /** Who stands behind each actions topic, and where each sender hears back (bridge/senders.ts). */
  senders: SenderDirectory;
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
    const sender = deps.senders.senderOf(record.topic);
    const decoded = decodeCloudEvent(record);
    const parsed = decoded.ok ? ActionEvent.safeParse(decoded.event) : undefined;

    /** Where the refusal of this record is answered: its sender's own topic (a trusted shared topic: the agency it names; a topic nobody owns: nowhere). */
    const refusalTopic = (raw: RawAction): string | undefined =>
      !sender ? undefined : sender.kind !== 'trusted' ? deps.senders.notifyTopicOfSender(sender) : raw.agency ? deps.senders.notifyTopicOf(raw.organisation ?? raw.agency) : undefined;

    const refuse = async (reason: DeadLetterReason, errors: string[], raw: RawAction, rejection: ActionRejectionReason): Promise<ActionHandled> => {
      await deps.deadLetters.send(record, reason, errors, ctx);
      const topic = refusalTopic(raw);
      if (topic === undefined) {
        log.warn({ ...where, reason, fields: errors.map(fieldOf) }, 'refused action: no sender to answer');
        return 'dead-lettered';
      }
      const actionId = raw.id ?? `${record.topic}/${record.partition}/${record.offset}`;
      const data: ActionRejectedV1 = {
        ...(raw.referralId ? { referralId: raw.referralId } : {}),
        actionId,
        ...(raw.type ? { action: raw.type } : {}),
        outcome: 'REJECTED',
        reason: rejection,
      };
      await publishAnswer(answerRecord(topic, source, ANSWER.rejected, actionId, raw.referralId ?? actionId, data), ctx, where);
      log.info({ ...where, eventId: actionId, action: raw.type, sender: sender && sender.kind !== 'trusted' ? describeSender(sender) : raw.agency, outcome: 'REJECTED', code: rejection.code, field: rejection.field }, 'action refused');
      return 'dead-lettered';
    };

    if (!parsed?.success) {
      const errors = !decoded.ok ? decoded.errors : describeIssues(parsed!.error);
      const raw = readRaw(record, decoded.ok ? decoded.event : undefined);
      const reason = !decoded.ok ? 'INVALID_CLOUDEVENT' : raw.type !== undefined && !actionEventTypes.includes(raw.type as never) ? 'UNKNOWN_EVENT_TYPE' : 'INVALID_EVENT';
      return refuse(reason, errors, raw, { code: 'VALIDATION', message: errors.join('; '), ...fieldOrNot(errors[0] ?? ''), errors });
    }

    const event = parsed.data;
    const { referralId, actor } = event.data;
    const raw: RawAction = { id: event.id, type: event.type, referralId, agency: actor.agency, ...(actor.organisation ? { organisation: actor.organisation } : {}) };
    if (!sender) {
      // Only topics of the directory are consumed: a record from another one is nobody's to act on.
      const message = `${record.topic}: no sender is known for this topic`;
      return refuse('ACTOR_MISMATCH', [message], raw, { code: 'ACTOR_MISMATCH', message });
    }
    if (sender.kind !== 'trusted') {
      const check = checkActor(sender, actor);
      if (!check.ok) return refuse('ACTOR_MISMATCH', [check.message], raw, { code: 'ACTOR_MISMATCH', message: check.message, field: check.field });
      const unknownPartner = unknownPartnerOf(event.data, deps.senders.partners);
      if (unknownPartner) return refuse('INVALID_EVENT', [unknownPartner], raw, { code: 'VALIDATION', message: unknownPartner, ...fieldOrNot(unknownPartner), errors: [unknownPartner] });
    }
    const { track, update, payload: given } = resolveAction(event);
    // The officer named is the sending agency's own assertion about its staff: the audit trail says whose.
    const payload = sender.kind === 'trusted' ? given : { ...given, actor: { ...actor, assertedBy: assertedByOf(sender) } };
    const workflowId = workflowIdFor(track, referralId);
    const updateId = actionUpdateId(event.source, event.id);
    const outcome = await retryTransient(() => applyAction(deps.client, { workflowId, track, referralId, update, payload, updateId }, ctx, attemptTimeoutMs), {
      ctx,
      onRetry: (err, attempt, delayMs) =>
        log.warn({ ...where, workflowId, update, attempt, delayMs, err: { name: err.name, message: err.message } }, 'Temporal did not take the action yet: retrying'),
    });

    const answerTo = sender.kind === 'trusted' ? deps.senders.notifyTopicOf(actor.organisation ?? actor.agency) : deps.senders.notifyTopicOfSender(sender);
    const common = { referralId, actionId: event.id, action: event.type };
    if (answerTo !== undefined) {
      const out =
        outcome.outcome === 'ACCEPTED'
          ? answerRecord(answerTo, source, ANSWER.accepted, event.id, referralId, { ...common, outcome: 'ACCEPTED' } satisfies ActionAcceptedV1)
          : answerRecord(answerTo, source, ANSWER.rejected, event.id, referralId, { ...common, outcome: 'REJECTED', reason: outcome.reason } satisfies ActionRejectedV1);
      await publishAnswer(out, ctx, where);
    }
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

/**
 * A reintegration plan may name only partner organisations the broker knows: a task for any other
 * could never be told to anyone (there is no topic for it).
 */
function unknownPartnerOf(data: Record<string, unknown>, partners: readonly string[]): string | undefined {
  const known = `not a partner organisation of this deployment (known: ${partners.join(', ')})`;
  if (typeof data['partner'] === 'string' && !partners.includes(data['partner'])) return `data.partner: ${known}`;
  const tasks = Array.isArray(data['tasks']) ? (data['tasks'] as Array<{ partner?: unknown }>) : [];
  const at = tasks.findIndex((t) => typeof t.partner === 'string' && !partners.includes(t.partner));
  if (at < 0) return undefined;
  return `data.tasks.${at}.partner: ${known}`;
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

interface RawAction {
  id?: string;
  type?: string;
  referralId?: string;
  /** Only a known agency code: on a trusted shared topic, an answer goes to that agency's (existing) topic. */
  agency?: AgencyCode;
  organisation?: string;
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
  const organisation = text(actor['organisation'], 32);
  return {
    id: text(event['id'], 200),
    type: text(event['type'], 200),
    referralId: referralId.success ? referralId.data : undefined,
    agency: agency.success ? agency.data : undefined,
    ...(agency.success && agency.data === 'PARTNER' && organisation ? { organisation } : {}),
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
}

/** Consumes the actions topic into Temporal updates; each offset is committed only after its answer is sent. */
export async function startActionsBridge(options: ActionsBridgeOptions): Promise<ConsumerRun> {
  const handle = createActionsHandler(options);
  const log = options.logger.child({ component: 'actions-bridge' });
  const topics = options.senders.actionsTopics;
  const run = await consumeNamed(topics, () => consume(options.kafka, {
    groupId: options.groupId,
    topics,
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
  log.info({ topics: topics.length, groupId: options.groupId }, 'actions bridge consuming');
  return run;
}

/** A start-up failure names the topic (kafkajs says only "This server does not host this topic-partition"). */
async function consumeNamed(topics: string[], start: () => Promise<ConsumerRun>): Promise<ConsumerRun> {
  try {
    return await start();
  } catch (err) {
    const shown = topics.length > 3 ? `${topics.slice(0, 3).join(', ')} and ${topics.length - 3} more` : topics.join(', ');
    throw new Error(`the actions topics (KAFKA_TOPIC_ACTIONS.<sender>: ${shown}) could not be consumed: ${(err as Error).message} (does every one exist? npm run stack -- up creates them)`, { cause: err });
  }
}
