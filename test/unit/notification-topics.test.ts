/**
 * Where the workflows' notifications go (activities/index.ts): each agency and each partner
 * organisation on a topic only it may read; the operators' stream on the events topic; nothing
 * for a recipient the broker has no topic for (never a shared topic another could read).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { committeeTopics, loadKafkaAccess } from '../../config/kafka-access.js';
import { OPERATORS } from '../../domain/recipients.js';
import type { Notification } from '../../schemas/notifications.js';
import { RecordingPublisher } from '../support/recording-publisher.js';

const topics = { intake: 'referrals.intake', actions: 'referrals.actions', deadLetter: 'referrals.dead-letter', events: 'referrals.events', notifyPrefix: 'referrals.notify.' };

const stage = (recipient: string, n: number): Notification => ({
  id: `referral-X/stage/${n}/${recipient}`,
  type: 'referral.stage.v1',
  subject: 'REF-000001',
  time: '2026-12-01T00:00:00.000Z',
  recipient,
  data: { recipient, province: 'BALOCHISTAN', district: 'Gwadar' } as never,
});

async function publish(recipients: string[], partners?: readonly string[], committeeJurisdictionTopics?: boolean | ReadonlySet<string>) {
  const publisher = new RecordingPublisher();
  const activities = createActivities({
    publisher,
    topics,
    source: 'urn:test',
    ...(partners ? { partners } : {}),
    ...(committeeJurisdictionTopics !== undefined ? { committeeJurisdictionTopics } : {}),
  });
  await new MockActivityEnvironment().run(() => activities.publishNotifications(recipients.map(stage)));
  return publisher.records.map((r) => [r.topic, r.headers['ce_id']]);
}

describe('notification topics', () => {
  it('gives each agency and each known partner organisation its own topic, and operators the events topic', async () => {
    const sent = await publish(['FIA', 'AHTC-N', 'NGO_HOTLINE', 'IOM', 'SSDO', OPERATORS], ['IOM', 'SSDO']);
    expect(sent.map(([t]) => t)).toEqual([
      'referrals.notify.fia',
      'referrals.notify.ahtc-n',
      'referrals.notify.ngo_hotline',
      'referrals.notify.partner.iom',
      'referrals.notify.partner.ssdo',
      'referrals.events',
    ]);
  });

  it('sends nothing for an organisation without a topic, nor for the partners\' umbrella code, and still sends the rest', async () => {
    const sent = await publish(['UNKNOWN_NGO', 'PARTNER', 'SWD'], ['IOM']);
    expect(sent).toEqual([['referrals.notify.swd', 'referral-X/stage/2/SWD']]);
    expect(sent.some(([t]) => t === 'referrals.notify.partners')).toBe(false);
  });

  it("tells a district or provincial committee on its own jurisdiction's topic only, never on the committees' shared topic", async () => {
    const shared = await publish(['AHTC-D', 'AHTC-P', 'AHTC-N'], ['IOM']);
    expect(shared.map(([t]) => t)).toEqual(['referrals.notify.ahtc-n']);
    const own = await publish(['AHTC-D', 'AHTC-P', 'AHTC-N'], ['IOM'], true);
    expect(own.map(([t]) => t)).toEqual(['referrals.notify.ahtc-d.balochistan.gwadar', 'referrals.notify.ahtc-p.balochistan', 'referrals.notify.ahtc-n']);
    // As the engine runs: only the seats of the shipped access table have a topic; a jurisdiction without one is not told on Kafka.
    const seats = new Set(committeeTopics(loadKafkaAccess(), topics));
    expect([...seats]).toEqual(['referrals.notify.ahtc-d.punjab.lahore', 'referrals.notify.ahtc-d.balochistan.gwadar', 'referrals.notify.ahtc-p.punjab', 'referrals.notify.ahtc-p.balochistan']);
    const seated = await publish(['AHTC-D', 'AHTC-P', 'AHTC-N'], ['IOM'], seats);
    expect(seated.map(([t]) => t)).toEqual(['referrals.notify.ahtc-d.balochistan.gwadar', 'referrals.notify.ahtc-p.balochistan', 'referrals.notify.ahtc-n']);
    const unseated = await publish(['AHTC-D', 'AHTC-P'], ['IOM'], new Set(['referrals.notify.ahtc-d.punjab.lahore']));
    expect(unseated).toEqual([]);
  });
});
