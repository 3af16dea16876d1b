/**
 * The actions handler (bridge/actions.ts) over a fake Temporal client and an in-memory publisher:
 * which update goes to which workflow with which update id, how each failure becomes an answer,
 * what is retried, and what is (not) logged. The real server and broker are in
 * test/integration/actions.test.ts.
 */
import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { actionUpdateId, answerTopic, createActionsHandler } from '../../bridge/actions.js';
import { createDeadLetters } from '../../bridge/dead-letters.js';
import { ShutdownAbandon } from '../../bridge/retry.js';
import type { Topics } from '../../config/env.js';
import { encodeCloudEvent } from '../../messaging/cloudevents.js';
import type { RecordContext } from '../../messaging/kafka.js';
import type { InboundRecord } from '../../messaging/records.js';
import { RecordingPublisher } from '../support/recording-publisher.js';

const topics: Topics = { intake: 'in', actions: 'actions', deadLetter: 'dlq', events: 'events', notifyPrefix: 'notify.' };
const ctx: RecordContext = { heartbeat: async () => {}, isStopping: () => false };
const officer = { actorId: 'fia-officer-7', agency: 'FIA', role: 'OFFICER' };
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

function setup(opts: Parameters<typeof fakeClient>[0] = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(s) });
  const publisher = new RecordingPublisher();
  const { client, calls } = fakeClient(opts);
  const handle = createActionsHandler({ client, topics, publisher, logger, deadLetters: createDeadLetters(publisher, topics.deadLetter, logger), source: 'urn:test' });
  return { handle, publisher, calls, lines };
}

let offset = 0;
function record(type: string, data: Record<string, unknown>, id = `act-${++offset}`): InboundRecord {
  const out = encodeCloudEvent(topics.actions, { id, source: 'urn:agency:fia', type, subject: String(data['referralId']), time: '2026-11-24T09:00:00Z', data });
  return { topic: out.topic, partition: 0, offset: String(offset), key: Buffer.from(out.key ?? ''), value: Buffer.from(out.value as string), headers: out.headers };
}
const ack = (extra: Record<string, unknown> = {}) => record('referral.action.acknowledge.v1', { referralId: 'REF-000123', actor: officer, reason: SECRET, ...extra });
const rejection = (type: string, message: string) => new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type, message, nonRetryable: true }));

function answers(publisher: RecordingPublisher) {
  return publisher.records.filter((r) => r.topic.startsWith(topics.notifyPrefix)).map((r) => ({ topic: r.topic, id: r.headers['ce_id'], type: r.headers['ce_type'], data: JSON.parse(String(r.value)) }));
}

describe('createActionsHandler', () => {
  it('sends the update to the referral, with the data minus referralId as argument and the CloudEvent source and id as update id', async () => {
    const { handle, publisher, calls } = setup();
    const r = ack();
    expect(await handle(r, ctx)).toBe('accepted');
    expect(calls).toEqual([
      { workflowId: 'referral-REF-000123', update: 'acknowledge', args: [{ actor: officer, reason: SECRET }], updateId: actionUpdateId('urn:agency:fia', r.headers['ce_id']!) },
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
    await handle(record('referral.action.extend-deadline.v1', data), ctx);
    const { referralId: _r, track: _t, ...payload } = data;
    expect(calls[0]).toMatchObject({ workflowId: 'referral-REF-000123-protection', update: 'extendDeadline', args: [payload] });
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
    const charge = (referralId: string) => record('referral.action.charge-decision.v1', { referralId, actor: { ...officer, agency: 'PROSECUTION' }, decision: 'CHARGED' });

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

  it('dead-letters an invalid action and answers VALIDATION with every field error to the agency it names', async () => {
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

  it('dead-letters without an answer when no known agency can be read', async () => {
    const { handle, publisher } = setup();
    const r = record('referral.action.acknowledge.v1', { referralId: 'REF-000123', actor: { ...officer, agency: 'MARS' } });
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(answers(publisher)).toHaveLength(0);
    expect(publisher.records.map((x) => x.topic)).toEqual(['dlq']);
  });

  it('reads the agency of an action that is not even a CloudEvent (no ce_ headers) and answers it', async () => {
    const { handle, publisher } = setup();
    const r: InboundRecord = { topic: 'actions', partition: 1, offset: '9', key: null, value: Buffer.from(JSON.stringify({ referralId: 'REF-000123', actor: officer })), headers: {} };
    expect(await handle(r, ctx)).toBe('dead-lettered');
    const [answer] = answers(publisher);
    expect(answer).toMatchObject({ topic: 'notify.fia', id: 'actions/1/9/answer' });
    expect(answer!.data.reason).toMatchObject({ code: 'VALIDATION', field: 'headers.ce_specversion' });
    expect(answer!.data).not.toHaveProperty('action');
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

describe('answerTopic', () => {
  it('is the agency\'s notification topic; partner organisations share the partners\' topic', () => {
    expect(answerTopic(topics, 'FIA')).toBe('notify.fia');
    expect(answerTopic(topics, 'AHTC-N')).toBe('notify.ahtc-n');
    expect(answerTopic(topics, 'PARTNER')).toBe('notify.partners');
    expect(answerTopic(topics, 'NGO_HOTLINE')).toBe('notify.partners');
  });
});
