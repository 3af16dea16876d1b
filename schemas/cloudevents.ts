import { z } from 'zod';
import { ReferralDetectedV1 } from './intake.js';

/** CloudEvents 1.0 context attributes the engine reads and writes. */
export const CloudEventContext = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(200),
  source: z.string().min(1).max(500),
  type: z.string().min(1),
  time: z.string().datetime({ offset: true }).optional(),
  subject: z.string().max(200).optional(),
  datacontenttype: z.string().optional(),
  dataschema: z.string().optional(),
});
export type CloudEventContext = z.infer<typeof CloudEventContext>;

export const ReferralDetectedEvent = CloudEventContext.extend({
  type: z.literal('referral.detected.v1'),
  data: ReferralDetectedV1,
});
export type ReferralDetectedEvent = z.infer<typeof ReferralDetectedEvent>;

/** Every event type the intake topic accepts: a discriminated union of versioned literal types. */
export const IntakeEvent = z.discriminatedUnion('type', [ReferralDetectedEvent]);
export type IntakeEvent = z.infer<typeof IntakeEvent>;

export const intakeEventTypes: readonly string[] = IntakeEvent.options.map((o) => o.shape.type.value);
