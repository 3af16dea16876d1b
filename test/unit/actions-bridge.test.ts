/**
 * The actions handler (bridge/actions.ts) over a fake Temporal client and an in-memory publisher:
 * which update goes to which workflow with which update id, how each failure becomes an answer,
 * what is retried, and what is (not) logged; and who may act on which topic: the topic's sender
 * is the acting agency (anything else is ACTOR_MISMATCH), vouched for with `assertedBy`. The real
 * server and broker are in test/integration/actions.test.ts.
 */
import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { actionUpdateId, createActionsHandler } from '../../bridge/actions.js';
import { createDeadLetters } from '../../bridge/dead-letters.js';
import { ShutdownAbandon } from '../../bridge/retry.js';
import { senderDirectory } from '../../bridge/senders.js';
import type { Topics } from '../../config/env.js';
import { loadKafkaAccess } from '../../config/kafka-access.js';
import { encodeCloudEvent } from '../../messaging/cloudevents.js';
import type { RecordContext } from '../../messaging/kafka.js';
import type { InboundRecord } from '../../messaging/records.js';
import { RecordingPublisher } from '../support/recording-publisher.js';
import { actionsTopicOf, notifyTopicOf } from '../support/test-kafka.js';

const topics: Topics = { intake: 'in', actions: 'actions', deadLetter: 'dlq', events: 'events', notifyPrefix: 'notify.' };
const ctx: RecordContext = { heartbeat: async () => {}, isStopping: () => false };
const officer = { actorId: 'fia-officer-7', agency: 'FIA', role: 'OFFICER' };
const access = loadKafkaAccess();
const iom = { actorId: 'iom-caseworker-2', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM' };
const SECRET = 'Zainab-secret-reason';

interface Call {
  workflowId: string;
  update: string;
  args: unknown[];
  updateId: string | undefined;
}

/** A Client with just what the handler uses: getHandle(..).executeUpdate / describe, withAbortSignal. */
function fakeClient(opts: { update?: (call: Call) => Promise<unknown>; status?: Record<string, string> }) {
  const calls: Call[] = [];
  const client = {
    withAbortSignal: (_signal: AbortSignal, fn: () => Promise<unknown>) => fn(),
    workflow: {
      getHandle: (workflowId: string) => ({
        executeUpdate: async (update: string, options: { args: unknown[]; updateId?: string }) => {
          const call = { workflowId, update, args: options.args, updateId: options.updateId };
          calls.push(call);
          return opts.update ? opts.update(call) : {};
        },
        describe: async () => {
          const name = opts.status?.[workflowId];
          if (!name) throw new WorkflowNotFoundError('workflow not found', workflowId, undefined);
          return { status: { name } };
        },
      }),
    },
  };
  return { client: client as unknown as Client, calls };
}

function setup(opts: Parameters<typeof fakeClient>[0] & { sharedTopics?: boolean } = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(s) });
  const publisher = new RecordingPublisher();
  const { client, calls } = fakeClient(opts);
  const senders = senderDirectory(access, topics, { sharedTopics: opts.sharedTopics ?? false });
  const handle = createActionsHandler({ client, senders, publisher, logger, deadLetters: createDeadLetters(publisher, topics.deadLetter, logger), source: 'urn:test' });
  return { handle, publisher, calls, lines };
}

let offset = 0;
/** An action as it arrives on a topic: by default FIA's own actions topic. */
function record(type: string, data: Record<string, unknown>, options: { topic?: string; id?: string } = {}): InboundRecord {
  const topic = options.topic ?? actionsTopicOf(topics, 'FIA');
  const id = options.id ?? `act-${++offset}`;
  const out = encodeCloudEvent(topic, { id, source: 'urn:agency:fia', type, subject: String(data['referralId']), time: '2026-11-24T09:00:00Z', data });
  return { topic: out.topic, partition: 0, offset: String(offset), key: Buffer.from(out.key ?? ''), value: Buffer.from(out.value as string), headers: out.headers };
}
const ack = (extra: Record<string, unknown> = {}, options: { topic?: string } = {}) =>
  record('referral.action.acknowledge.v1', { referralId: 'REF-000123', actor: officer, reason: SECRET, ...extra }, options);
const deadLetters = (publisher: RecordingPublisher) => publisher.records.filter((r) => r.topic === topics.deadLetter);
const rejection = (type: string, message: string) => new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type, message, nonRetryable: true }));

function answers(publisher: RecordingPublisher) {
  return publisher.records.filter((r) => r.topic.startsWith(topics.notifyPrefix)).map((r) => ({ topic: r.topic, id: r.headers['ce_id'], type: r.headers['ce_type'], data: JSON.parse(String(r.value)) }));
}

describe('createActionsHandler', () => {
  it('sends the update to the referral, with the data minus referralId as argument (the actor vouched for by the topic\'s agency) and the CloudEvent source and id as update id', async () => {
    const { handle, publisher, calls } = setup();
    const r = ack();
    expect(await handle(r, ctx)).toBe('accepted');
    expect(calls).toEqual([
      {
        workflowId: 'referral-REF-000123',
        update: 'acknowledge',
        args: [{ actor: { ...officer, assertedBy: 'FIA' }, reason: SECRET }],
        updateId: actionUpdateId('urn:agency:fia', r.headers['ce_id']!),
      },
    ]);
    expect(answers(publisher)).toEqual([
      {
        topic: 'notify.fia',
        id: `${r.headers['ce_id']}/answer`,
        type: 'referral.action.accepted.v1',
        data: { referralId: 'REF-000123', actionId: r.headers['ce_id'], action: 'referral.action.acknowledge.v1', outcome: 'ACCEPTED' },
      },
    ]);
  });

  it('sends a clock change to the track named in the data, without the track field', async () => {
    const { handle, calls } = setup();
    const data = { referralId: 'REF-000123', track: 'protection', actor: { ...officer, agency: 'SWD', role: 'SUPERVISOR' }, step: 'reintegrationPlan', by: { days: 2 }, reason: 'x' };
    await handle(record('referral.action.extend-deadline.v1', data, { topic: actionsTopicOf(topics, 'SWD') }), ctx);
    const { referralId: _r, track: _t, ...payload } = data;
    expect(calls[0]).toEqual({
      workflowId: 'referral-REF-000123-protection',
      update: 'extendDeadline',
      args: [{ ...payload, actor: { ...data.actor, assertedBy: 'SWD' } }],
      updateId: expect.any(String),
    });
  });

  it('maps the validators\' rejection types to answer codes, naming the field in the event', async () => {
    const cases: Array<[string, string, object]> = [
      ['InvalidAction', 'reason: required', { code: 'VALIDATION', field: 'data.reason' }],
      ['InvalidTransition', 'the referral is already acknowledged', { code: 'INVALID_TRANSITION' }],
      ['NotAParty', 'actor.agency: NCCIA is not a party to this referral', { code: 'NOT_A_PARTY', field: 'data.actor.agency' }],
      ['Forbidden', 'actor.role: moving an SLA clock needs the role SUPERVISOR', { code: 'FORBIDDEN', field: 'data.actor.role' }],
    ];
    for (const [type, message, expected] of cases) {
      const { handle, publisher } = setup({ update: async () => Promise.reject(rejection(type, message)) });
      expect(await handle(ack(), ctx)).toBe('rejected');
      const [answer] = answers(publisher);
      expect(answer!.type).toBe('referral.action.rejected.v1');
      expect(answer!.data.reason).toEqual({ ...expected, message });
    }
  });

  it('answers INVALID_TRANSITION when the workflow has no handler for the update', async () => {
    const noHandler = new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('No registered handler for update: acknowledge'));
    const { handle, publisher } = setup({ update: async () => Promise.reject(noHandler) });
    await handle(ack(), ctx);
    expect(answers(publisher)[0]!.data.reason).toMatchObject({ code: 'INVALID_TRANSITION', message: expect.stringContaining('acknowledge is not possible') });
  });

  it('tells an unknown referral, a closed one and a track not started apart', async () => {
    const notFound = async (call: Call) => Promise.reject(new WorkflowNotFoundError('workflow not found', call.workflowId, undefined));
    const charge = (referralId: string) =>
      record('referral.action.charge-decision.v1', { referralId, actor: { ...officer, agency: 'PROSECUTION' }, decision: 'CHARGED' }, { topic: actionsTopicOf(topics, 'PROSECUTION') });

    const unknown = setup({ update: notFound });
    await unknown.handle(ack({ referralId: 'REF-UNKNOWN' }), ctx);
    expect(answers(unknown.publisher)[0]!.data.reason).toEqual({ code: 'UNKNOWN_REFERRAL', message: 'referralId: there is no referral REF-UNKNOWN', field: 'data.referralId' });

    const closed = setup({ update: notFound, status: { 'referral-REF-000123': 'COMPLETED' } });
    await closed.handle(ack(), ctx);
    expect(answers(closed.publisher)[0]!.data.reason).toMatchObject({ code: 'REFERRAL_CLOSED', field: 'data.referralId' });

    const notStarted = setup({ update: notFound, status: { 'referral-REF-000777': 'RUNNING' } });
    await notStarted.handle(charge('REF-000777'), ctx);
    expect(answers(notStarted.publisher)[0]!.data.reason).toMatchObject({ code: 'INVALID_TRANSITION', message: expect.stringContaining('justice track') });

    const trackClosed = setup({ update: notFound, status: { 'referral-REF-000888': 'RUNNING', 'referral-REF-000888-justice': 'COMPLETED' } });
    await trackClosed.handle(charge('REF-000888'), ctx);
    expect(answers(trackClosed.publisher)[0]!.data.reason).toMatchObject({ code: 'REFERRAL_CLOSED', message: expect.stringContaining('justice track') });
  });

  it('retries a Temporal outage with the same update id, then answers once', async () => {
    let failures = 2;
    const { handle, publisher, calls } = setup({
      update: async () => {
        if (failures-- > 0) throw new ServiceError('Failed to update workflow: UNAVAILABLE');
        return {};
      },
    });
    expect(await handle(ack(), ctx)).toBe('accepted');
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.updateId)).size).toBe(1);
    expect(answers(publisher)).toHaveLength(1);
  });

  it('retries the answer until the broker takes it: the handler returns (and the offset is committed) only then', async () => {
    const { handle, publisher } = setup();
    publisher.failNext = 2;
    expect(await handle(ack(), ctx)).toBe('accepted');
    expect(answers(publisher)).toHaveLength(1);
  });

  it('abandons the record uncommitted when the bridge stops while Temporal is unavailable', async () => {
    let stopping = false;
    const { handle, publisher } = setup({
      update: async () => {
        stopping = true;
        throw new ServiceError('UNAVAILABLE');
      },
    });
    await expect(handle(ack(), { heartbeat: async () => {}, isStopping: () => stopping })).rejects.toBeInstanceOf(ShutdownAbandon);
    expect(publisher.records).toHaveLength(0);
  });

  it('dead-letters an invalid action and answers VALIDATION with every field error on the sender\'s topic', async () => {
    const { handle, publisher, calls } = setup();
    const r = record('referral.action.acknowledge.v1', { referralId: 'REF-000123', actor: { ...officer, role: 'CHIEF', actorId: '' }, reason: SECRET });
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(calls).toHaveLength(0);
    const [dead] = publisher.records.filter((x) => x.topic === 'dlq');
    expect(Buffer.compare(dead!.value as Buffer, r.value!)).toBe(0);
    expect(dead!.headers['dlq-reason']).toBe('INVALID_EVENT');
    const [answer] = answers(publisher);
    expect(answer).toMatchObject({ topic: 'notify.fia', id: `${r.headers['ce_id']}/answer`, type: 'referral.action.rejected.v1' });
    expect(answer!.data).toMatchObject({ referralId: 'REF-000123', actionId: r.headers['ce_id'], action: 'referral.action.acknowledge.v1', outcome: 'REJECTED' });
    expect(answer!.data.reason.code).toBe('VALIDATION');
    expect(answer!.data.reason.field).toBe('data.actor.actorId');
    expect(answer!.data.reason.errors.map((e: string) => e.split(':')[0]).sort()).toEqual(['data.actor.actorId', 'data.actor.role']);
  });

  it('answers an invalid action on the sender\'s topic even when the agency it names is unknown: the topic says who sent it', async () => {
    const { handle, publisher } = setup();
    const r = record('referral.action.acknowledge.v1', { referralId: 'REF-000123', actor: { ...officer, agency: 'MARS' } });
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(deadLetters(publisher).map((d) => d.headers['dlq-reason'])).toEqual(['INVALID_EVENT']);
    const all = answers(publisher);
    expect(all.map((a) => a.topic)).toEqual(['notify.fia']);
    expect(all[0]!.data.reason).toMatchObject({ code: 'VALIDATION', field: 'data.actor.agency' });
  });

  it('on a trusted shared topic, dead-letters without an answer when no known agency can be read', async () => {
    const { handle, publisher } = setup({ sharedTopics: true });
    const r = record('referral.action.acknowledge.v1', { referralId: 'REF-000123', actor: { ...officer, agency: 'MARS' } }, { topic: topics.actions });
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(answers(publisher)).toHaveLength(0);
    expect(publisher.records.map((x) => x.topic)).toEqual(['dlq']);
  });

  it('answers an action that is not even a CloudEvent (no ce_ headers) on its sender\'s topic', async () => {
    const { handle, publisher } = setup();
    const topic = actionsTopicOf(topics, 'NCCIA');
    // The body names FIA; it came on NCCIA's topic, so NCCIA hears back.
    const r: InboundRecord = { topic, partition: 1, offset: '9', key: null, value: Buffer.from(JSON.stringify({ referralId: 'REF-000123', actor: officer })), headers: {} };
    expect(await handle(r, ctx)).toBe('dead-lettered');
    const all = answers(publisher);
    expect(all.map((a) => a.topic)).toEqual([notifyTopicOf(topics, 'NCCIA')]);
    expect(all[0]).toMatchObject({ id: `${topic}/1/9/answer` });
    expect(all[0]!.data.reason).toMatchObject({ code: 'VALIDATION', field: 'headers.ce_specversion' });
    expect(all[0]!.data).not.toHaveProperty('action');
  });

  it('on a trusted shared topic, reads the agency of an action that is not even a CloudEvent and answers it', async () => {
    const { handle, publisher } = setup({ sharedTopics: true });
    const r: InboundRecord = { topic: topics.actions, partition: 1, offset: '9', key: null, value: Buffer.from(JSON.stringify({ referralId: 'REF-000123', actor: officer })), headers: {} };
    expect(await handle(r, ctx)).toBe('dead-lettered');
    const [answer] = answers(publisher);
    expect(answer).toMatchObject({ topic: 'notify.fia', id: 'actions/1/9/answer' });
    expect(answer!.data.reason).toMatchObject({ code: 'VALIDATION', field: 'headers.ce_specversion' });
  });

  it('logs ids, codes and field names, never the payload values', async () => {
    const { handle, lines } = setup({ update: async () => Promise.reject(rejection('InvalidAction', `reason: "${SECRET}" is not allowed`)) });
    await handle(ack(), ctx);
    await handle(record('referral.action.acknowledge.v1', { referralId: 'REF-000123', actor: { ...officer, role: SECRET } }), ctx);
    const log = lines.join('\n');
    expect(log).toContain('action rejected');
    expect(log).toContain('"field":"data.reason"');
    expect(log).toContain('data.actor.role');
    expect(log).not.toContain(SECRET);
  });
});

describe('who acts: the topic\'s sender', () => {
  const expectRefused = (publisher: RecordingPublisher, r: InboundRecord, answeredOn: string, field: string) => {
    const [dead, ...moreDead] = deadLetters(publisher);
    expect(moreDead).toHaveLength(0);
    expect(dead!.headers['dlq-reason']).toBe('ACTOR_MISMATCH');
    expect(dead!.headers['dlq-source-topic']).toBe(r.topic);
    expect(Buffer.compare(dead!.value as Buffer, r.value!)).toBe(0);
    const all = answers(publisher);
    expect(all.map((a) => a.topic)).toEqual([answeredOn]);
    expect(all[0]).toMatchObject({ id: `${r.headers['ce_id']}/answer`, type: 'referral.action.rejected.v1' });
    expect(all[0]!.data).toMatchObject({ referralId: 'REF-000123', actionId: r.headers['ce_id'], action: r.headers['ce_type'], outcome: 'REJECTED' });
    expect(all[0]!.data.reason).toMatchObject({ code: 'ACTOR_MISMATCH', field });
  };

  it('refuses an action naming another agency than the topic\'s: dead-lettered ACTOR_MISMATCH, answered on the sender\'s topic alone', async () => {
    const { handle, publisher, calls } = setup();
    const r = ack({ actor: { ...officer, actorId: 'nccia-officer-1', agency: 'NCCIA' } });
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(calls).toHaveLength(0);
    expectRefused(publisher, r, notifyTopicOf(topics, 'FIA'), 'data.actor.agency');
    expect(publisher.records.some((x) => x.topic === notifyTopicOf(topics, 'NCCIA'))).toBe(false);
  });

  it('refuses OPERATOR and ADMIN over Kafka, even for the topic\'s own agency', async () => {
    for (const role of ['OPERATOR', 'ADMIN']) {
      const { handle, publisher, calls } = setup();
      const r = ack({ actor: { ...officer, role } });
      expect(await handle(r, ctx)).toBe('dead-lettered');
      expect(calls).toHaveLength(0);
      expectRefused(publisher, r, notifyTopicOf(topics, 'FIA'), 'data.actor.role');
    }
  });

  it('refuses an agency acting with role PARTNER on its own topic', async () => {
    const { handle, publisher, calls } = setup();
    const r = ack({ actor: { ...officer, role: 'PARTNER' } });
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(calls).toHaveLength(0);
    expectRefused(publisher, r, notifyTopicOf(topics, 'FIA'), 'data.actor.role');
  });

  it('on a partner organisation\'s topic, refuses another organisation, an agency, and a role other than PARTNER', async () => {
    const topic = actionsTopicOf(topics, 'IOM');
    const task = (actor: Record<string, unknown>) =>
      record('referral.action.complete-task.v1', { referralId: 'REF-000123', actor, taskId: 'T1', outcome: 'DONE' }, { topic });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...iom, organisation: 'SSDO' }, 'data.actor.organisation'],
      [{ ...officer, agency: 'SWD' }, 'data.actor.agency'],
      [{ ...iom, role: 'OFFICER' }, 'data.actor.role'],
    ];
    for (const [actor, field] of cases) {
      const { handle, publisher, calls } = setup();
      const r = task(actor);
      expect(await handle(r, ctx)).toBe('dead-lettered');
      expect(calls).toHaveLength(0);
      expectRefused(publisher, r, notifyTopicOf(topics, 'IOM'), field);
    }
  });

  it('applies a partner organisation\'s own action vouched for as PARTNER:<org>, answered on its own topic', async () => {
    const { handle, publisher, calls } = setup();
    const r = record('referral.action.complete-task.v1', { referralId: 'REF-000123', actor: iom, taskId: 'T1', outcome: 'DONE' }, { topic: actionsTopicOf(topics, 'IOM') });
    expect(await handle(r, ctx)).toBe('accepted');
    expect(calls).toEqual([
      { workflowId: 'referral-REF-000123-protection', update: 'completePartnerTask', args: [{ actor: { ...iom, assertedBy: 'PARTNER:IOM' }, taskId: 'T1', outcome: 'DONE' }], updateId: expect.any(String) },
    ]);
    expect(answers(publisher).map((a) => [a.topic, a.type])).toEqual([[notifyTopicOf(topics, 'IOM'), 'referral.action.accepted.v1']]);
    expect(notifyTopicOf(topics, 'IOM')).toBe('notify.partner.iom');
  });

  it('refuses VALIDATION a reintegration plan giving a task to an organisation the broker does not know', async () => {
    const swd = { ...officer, actorId: 'swd-officer-4', agency: 'SWD' };
    const plan = (partner: string, lead = 'IOM') =>
      record(
        'referral.action.reintegration-plan.v1',
        { referralId: 'REF-000123', actor: swd, partner: lead, tasks: [{ taskId: 'T1', kind: 'SHELTER', partner: 'IOM' }, { taskId: 'T2', kind: 'LEGAL_AID', partner }] },
        { topic: actionsTopicOf(topics, 'SWD') },
      );
    const known = setup();
    expect(await known.handle(plan('SSDO'), ctx)).toBe('accepted');
    expect(known.calls).toHaveLength(1);

    const unknown = setup();
    const r = plan('ACME-RELIEF');
    expect(await unknown.handle(r, ctx)).toBe('dead-lettered');
    expect(unknown.calls).toHaveLength(0);
    expect(deadLetters(unknown.publisher).map((d) => d.headers['dlq-reason'])).toEqual(['INVALID_EVENT']);
    const all = answers(unknown.publisher);
    expect(all.map((a) => a.topic)).toEqual([notifyTopicOf(topics, 'SWD')]);
    expect(all[0]!.data.reason).toMatchObject({ code: 'VALIDATION', field: 'data.tasks.1.partner' });

    // The plan's own partner is told too: it must have a topic as well.
    const unknownLead = setup();
    expect(await unknownLead.handle(plan('SSDO', 'ACME-RELIEF'), ctx)).toBe('dead-lettered');
    expect(unknownLead.calls).toHaveLength(0);
    expect(answers(unknownLead.publisher)[0]!.data.reason).toMatchObject({ code: 'VALIDATION', field: 'data.partner' });
  });

  it('refuses a valid action from a topic that is not a sender\'s (ACTOR_MISMATCH, nothing applied)', async () => {
    // The shared topic when the deployment has not opted in: nobody vouches for what it carries.
    const { handle, publisher, calls } = setup();
    const r = ack({}, { topic: topics.actions });
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(calls).toHaveLength(0);
    expect(deadLetters(publisher).map((d) => d.headers['dlq-reason'])).toEqual(['ACTOR_MISMATCH']);
  });

  it('on a trusted shared topic (KAFKA_SHARED_TOPICS), keeps the agency the action names: no assertedBy, answered on that agency\'s topic', async () => {
    const { handle, publisher, calls } = setup({ sharedTopics: true });
    const nccia = { ...officer, actorId: 'nccia-officer-1', agency: 'NCCIA' };
    const r = ack({ actor: nccia }, { topic: topics.actions });
    expect(await handle(r, ctx)).toBe('accepted');
    expect(calls.map((c) => c.args)).toEqual([[{ actor: nccia, reason: SECRET }]]);
    expect(answers(publisher).map((a) => [a.topic, a.type])).toEqual([[notifyTopicOf(topics, 'NCCIA'), 'referral.action.accepted.v1']]);
    expect(deadLetters(publisher)).toHaveLength(0);
  });

  it('with the shared topics on, the per-sender topics still hold their sender to account', async () => {
    const { handle, publisher, calls } = setup({ sharedTopics: true });
    const r = ack({ actor: { ...officer, agency: 'NCCIA' } });
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(calls).toHaveLength(0);
    expectRefused(publisher, r, notifyTopicOf(topics, 'FIA'), 'data.actor.agency');
  });
});

describe('senderDirectory', () => {
  it('names one actions topic per agency and partner organisation, the shared topic only when opted in', () => {
    const own = senderDirectory(access, topics);
    expect(own.actionsTopics).toContain('actions.fia');
    expect(own.actionsTopics).toContain('actions.ahtc-n');
    expect(own.actionsTopics).toContain('actions.partner.iom');
    expect(own.actionsTopics).not.toContain(topics.actions);
    expect(own.intakeTopics).toContain('in.nccia');
    expect(own.intakeTopics.some((t) => t.includes('partner'))).toBe(false);
    expect(new Set(own.actionsTopics).size).toBe(own.actionsTopics.length);
    const shared = senderDirectory(access, topics, { sharedTopics: true });
    expect(shared.actionsTopics).toEqual([...own.actionsTopics, topics.actions]);
    expect(shared.intakeTopics).toEqual([...own.intakeTopics, topics.intake]);
    expect(shared.senderOf(topics.actions)).toEqual({ kind: 'trusted' });
    expect(own.senderOf(topics.actions)).toBeUndefined();
  });

  it('answers each sender on its own topic: agencies by code, partner organisations on partner.<org>', () => {
    const d = senderDirectory(access, topics);
    expect(d.notifyTopicOf('FIA')).toBe('notify.fia');
    expect(d.notifyTopicOf('AHTC-N')).toBe('notify.ahtc-n');
    expect(d.notifyTopicOf('IOM')).toBe('notify.partner.iom');
    expect(d.notifyTopicOf('PARTNER')).toBeUndefined();
    expect(d.notifyTopicOf('ACME-RELIEF')).toBeUndefined();
    expect(d.notifyTopicOfSender({ kind: 'partner', organisation: 'SSDO' })).toBe('notify.partner.ssdo');
  });
});
