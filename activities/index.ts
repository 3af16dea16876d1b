import { log } from '@temporalio/activity';
import { notificationTopic, type Topics } from '../config/env.js';
import { routeCase, type ChargeMatrix } from '../domain/routing.js';
import { encodeCloudEvent } from '../messaging/cloudevents.js';
import type { Publisher } from '../messaging/kafka.js';
import { AgencyCode } from '../schemas/common.js';
import type { CaseFacts } from '../schemas/intake.js';
import { committeeTopicSuffix, DISTRICT_COMMITTEE, PROVINCIAL_COMMITTEE } from '../domain/jurisdiction.js';
import { OPERATORS } from '../domain/recipients.js';
import type { Notification } from '../schemas/notifications.js';
import type { RoutingDecision } from '../schemas/routing.js';

export interface ActivityDeps {
  publisher: Publisher;
  topics: Topics;
  /** CloudEvents `source` of everything this engine emits. */
  source: string;
  /** Partner organisations with a topic of their own (config/kafka-access.json); absent: any code that is no agency's. */
  partners?: readonly string[];
  /**
   * District and provincial committees are told on their own jurisdiction's topic
   * (`<notify>ahtc-d.punjab.lahore`, `<notify>ahtc-p.punjab`), which only that committee may read;
   * only where the broker has those topics: the set of them (the access table's committee seats,
   * config/kafka-access.ts committeeTopics), or true for every jurisdiction. Absent or false, or a
   * jurisdiction not in the set: they are not told on Kafka at all
   * (the console and API show them their referrals), never on the shared `<notify>ahtc-d`, which
   * every district's committee reads.
   */
  committeeJurisdictionTopics?: boolean | ReadonlySet<string>;
}

/** Activities of the referral workflows, built over their dependencies (no globals). */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Routes with the charge matrix the referral started with; an unroutable case is a result, not an error. */
    async routeReferral(facts: CaseFacts, matrix: ChargeMatrix): Promise<RoutingDecision> {
      return routeCase(matrix, facts);
    },

    /**
     * Publishes notifications, each to its recipient's own topic. Ids are fixed by the workflow,
     * so a retried activity re-sends the same events and consumers drop the duplicates.
     */
    async publishNotifications(notifications: Notification[]): Promise<void> {
      const records = [];
      for (const n of notifications) {
        const topic = topicFor(deps, n);
        if (topic === undefined) {
          log.warn('no notification topic for this recipient: not sent on Kafka', { notificationId: n.id, type: n.type, recipient: n.recipient });
          continue;
        }
        records.push(encodeCloudEvent(topic, { id: n.id, source: deps.source, type: n.type, subject: n.subject, time: n.time, data: n.data }));
      }
      await deps.publisher.publish(records);
    },
  };
}

/**
 * Every agency and every partner organisation (IOM, SSDO, …) has a topic of its own, which only it
 * may read; the operators' stream has its own. A recipient with no topic (a partner organisation
 * the broker does not know) is told nothing on Kafka: the notification would reach nobody, and
 * no topic exists to hold it (bridge and API refuse plans naming such an organisation).
 */
function topicFor(deps: ActivityDeps, n: Notification): string | undefined {
  const { topics, partners } = deps;
  const recipient = n.recipient;
  if (recipient === OPERATORS) return topics.events;
  if (recipient === DISTRICT_COMMITTEE || recipient === PROVINCIAL_COMMITTEE) {
    const { province, district } = (n.data ?? {}) as { province?: unknown; district?: unknown };
    const seats = deps.committeeJurisdictionTopics;
    if (!seats || typeof province !== 'string' || typeof district !== 'string') return undefined;
    const topic = `${topics.notifyPrefix}${committeeTopicSuffix(recipient, { province, district })}`;
    return seats === true || seats.has(topic) ? topic : undefined;
  }
  const agency = AgencyCode.safeParse(recipient);
  if (agency.success && agency.data !== 'PARTNER') return notificationTopic(topics, recipient);
  if (agency.success || (partners && !partners.includes(recipient))) return undefined;
  return `${topics.notifyPrefix}partner.${recipient.toLowerCase()}`;
}

export type ReferralActivities = ReturnType<typeof createActivities>;
