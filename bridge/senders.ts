import type { Topics } from '../config/env.js';
import { actionsTopicSenders, intakeTopicSenders, notifyTopicOf, senderTopics, type KafkaAccessFile, type Sender } from '../config/kafka-access.js';

/**
 * Who stands behind each topic the bridges read. The broker lets one principal alone write each
 * per-sender topic (config/kafka-access.ts), so the topic, not the message, says who acts. The
 * shared topics, when a deployment opts in, carry no such proof: their messages are 'trusted'.
 */
export type TopicSender = Sender | { kind: 'trusted' };

export interface SenderDirectory {
  intakeTopics: string[];
  actionsTopics: string[];
  senderOf(topic: string): TopicSender | undefined;
  /** Where a sender hears back: its own notification topic. */
  notifyTopicOfSender(sender: Sender): string;
  /** The notification topic of a recipient code (an agency, or a partner organisation), if it has one. */
  notifyTopicOf(recipient: string): string | undefined;
  partners: readonly string[];
}

export function senderDirectory(access: KafkaAccessFile, topics: Topics, options: { sharedTopics?: boolean } = {}): SenderDirectory {
  const intake = intakeTopicSenders(access, topics);
  const actions = actionsTopicSenders(access, topics);
  const byTopic = new Map<string, TopicSender>([...intake, ...actions]);
  if (options.sharedTopics) {
    byTopic.set(topics.intake, { kind: 'trusted' });
    byTopic.set(topics.actions, { kind: 'trusted' });
  }
  return {
    intakeTopics: [...intake.keys(), ...(options.sharedTopics ? [topics.intake] : [])],
    actionsTopics: [...actions.keys(), ...(options.sharedTopics ? [topics.actions] : [])],
    senderOf: (topic) => byTopic.get(topic),
    notifyTopicOfSender: (sender) => senderTopics(topics, sender).notify,
    notifyTopicOf: (recipient) => notifyTopicOf(access, topics, recipient),
    partners: access.partners,
  };
}

/** What the audit trail records as the authority behind an actor: `NCCIA`, or `PARTNER:IOM`. */
export function assertedByOf(sender: Sender): string {
  return sender.kind === 'agency' ? sender.agency : `PARTNER:${sender.organisation}`;
}

export function describeSender(sender: Sender): string {
  return sender.kind === 'agency' ? sender.agency : `partner organisation ${sender.organisation}`;
}

export type ActorCheck = { ok: true } | { ok: false; field: string; message: string };

/**
 * An action's actor must be the topic's own sender: an agency's officer or supervisor for an
 * agency's topic, the organisation itself for a partner's. Roles that cross agencies (OPERATOR,
 * ADMIN) are the engine's own people and act through the API only.
 */
export function checkActor(sender: Sender, actor: { agency: string; role: string; organisation?: string | undefined }): ActorCheck {
  if (actor.role === 'OPERATOR' || actor.role === 'ADMIN') {
    return { ok: false, field: 'data.actor.role', message: `data.actor.role: ${actor.role} acts across agencies and never over Kafka (use the HTTP API)` };
  }
  if (sender.kind === 'agency') {
    if (actor.agency !== sender.agency) {
      return { ok: false, field: 'data.actor.agency', message: `data.actor.agency: this topic is ${sender.agency}'s own; it cannot act for ${actor.agency}` };
    }
    if (actor.role === 'PARTNER') return { ok: false, field: 'data.actor.role', message: `data.actor.role: ${sender.agency} acts by its officers and supervisors, not as a partner` };
    return { ok: true };
  }
  if (actor.agency !== 'PARTNER' || actor.organisation !== sender.organisation) {
    const claimed = actor.agency === 'PARTNER' ? `partner organisation ${actor.organisation ?? '(none)'}` : actor.agency;
    return { ok: false, field: actor.agency === 'PARTNER' ? 'data.actor.organisation' : 'data.actor.agency', message: `data.actor: this topic is partner organisation ${sender.organisation}'s own; it cannot act for ${claimed}` };
  }
  if (actor.role !== 'PARTNER') return { ok: false, field: 'data.actor.role', message: `data.actor.role: a partner organisation acts with role PARTNER, not ${actor.role}` };
  return { ok: true };
}

/** An intake's source agency must be the agency whose topic it came on. */
export function checkIntakeSource(sender: Sender, sourceAgency: string): ActorCheck {
  if (sender.kind === 'agency' && sender.agency === sourceAgency) return { ok: true };
  return { ok: false, field: 'data.sourceAgency', message: `data.sourceAgency: this topic is ${describeSender(sender)}'s own; it cannot report for ${sourceAgency}` };
}
