import { encodeCloudEvent } from '../messaging/cloudevents.js';
import type { OutboundRecord } from '../messaging/records.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';

/** A `referral.detected.v1` record as a detecting agency would produce it (binary-mode CloudEvent). */
export function intakeRecord(topic: string, referral: ReferralDetectedV1, source = 'urn:agency:demo'): OutboundRecord {
  return encodeCloudEvent(topic, {
    id: `detected-${referral.referralId}`,
    source,
    type: 'referral.detected.v1',
    subject: referral.referralId,
    time: referral.detectedAt,
    data: referral,
  });
}
