import { notificationTopic, type Topics } from '../config/env.js';
import { routeCase, type ChargeMatrix } from '../domain/routing.js';
import { encodeCloudEvent } from '../messaging/cloudevents.js';
import type { Publisher } from '../messaging/kafka.js';
import { AgencyCode } from '../schemas/common.js';
import type { CaseFacts } from '../schemas/intake.js';
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
      await deps.publisher.publish(
        notifications.map((n) =>
          encodeCloudEvent(topicFor(deps.topics, n.recipient), {
            id: n.id,
            source: deps.source,
            type: n.type,
            subject: n.subject,
            time: n.time,
            data: n.data,
          }),
        ),
      );
    },
  };
}

/**
 * Agencies have a topic each; the operators' stream has its own; reintegration partners (IOM, SSDO,
 * …) share the partners' topic and filter by the `recipient` field.
 */
const SHARED_PARTNER_TOPIC = new Set(['PARTNER', 'NGO_HOTLINE', 'EMBASSY']);

function topicFor(topics: Topics, recipient: string): string {
  if (recipient === OPERATORS) return topics.events;
  if (!AgencyCode.safeParse(recipient).success || SHARED_PARTNER_TOPIC.has(recipient)) return notificationTopic(topics, 'partners');
  return notificationTopic(topics, recipient);
}

export type ReferralActivities = ReturnType<typeof createActivities>;
