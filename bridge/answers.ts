import { encodeCloudEvent } from '../messaging/cloudevents.js';
import type { OutboundRecord } from '../messaging/records.js';
import type { ActionAcceptedV1, ActionAnswerType, ActionRejectedV1 } from '../schemas/notifications.js';

/** The answer to what a sender sent (an action, or a refused intake), for the sender's own topic. */
export function answerRecord(topic: string, source: string, type: ActionAnswerType, actionId: string, subject: string, data: ActionAcceptedV1 | ActionRejectedV1): OutboundRecord {
  return encodeCloudEvent(topic, {
    // Deterministic: a redelivered message is answered with the same id, so the sender can drop the copy.
    id: `${actionId}/answer`,
    source,
    type,
    subject,
    time: new Date().toISOString(),
    data,
  });
}
