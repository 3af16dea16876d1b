import { z } from 'zod';
import { AgencyCode, IsoDateTime, Province, ReferralId, ReportedCaseType } from './common.js';

/** Aggravating and routing flags reported at detection. */
export const CaseFlags = z
  .object({
    minor: z.boolean().default(false),
    victimAbroad: z.boolean().default(false),
    victimAtRisk: z.boolean().default(false),
    organisedNetwork: z.boolean().default(false),
    crossBorder: z.boolean().default(false),
  })
  .strict();
export type CaseFlags = z.infer<typeof CaseFlags>;

export const CaseLocation = z
  .object({
    province: Province,
    district: z.string().min(2).max(60),
  })
  .strict();
export type CaseLocation = z.infer<typeof CaseLocation>;

export const OnlineChannel = z
  .object({
    platform: z.string().min(2).max(60),
    url: z.string().url().max(2048),
  })
  .strict();
export type OnlineChannel = z.infer<typeof OnlineChannel>;

/**
 * The non-personal facts of a referral: safe for search attributes' sources, routing and
 * notifications (after projection). Never holds anything that identifies a person.
 */
export const CaseFacts = z
  .object({
    caseType: ReportedCaseType,
    flags: CaseFlags.default({}),
    location: CaseLocation,
    indicators: z.array(z.string().min(2).max(80)).max(50).default([]),
    online: OnlineChannel.optional(),
    victimCount: z.number().int().min(0).max(10_000).default(1),
    summary: z.string().max(2000).optional(),
  })
  .strict();
export type CaseFacts = z.infer<typeof CaseFacts>;

/** A person named in a referral. Sensitive: kept apart, encrypted in Temporal, never on Kafka or in logs. */
export const Person = z
  .object({
    role: z.enum(['VICTIM', 'SUSPECT', 'WITNESS', 'COMPLAINANT']),
    name: z.string().min(1).max(200),
    age: z.number().int().min(0).max(120).optional(),
    gender: z.string().max(30).optional(),
    nationality: z.string().max(60).optional(),
    contact: z.string().max(200).optional(),
    location: z.string().max(300).optional(),
    health: z.string().max(2000).optional(),
    documents: z.array(z.string().max(100)).max(20).optional(),
  })
  .strict();
export type Person = z.infer<typeof Person>;

/** data of `referral.detected.v1`: what a detecting agency sends to open a referral. */
export const ReferralDetectedV1 = z
  .object({
    referralId: ReferralId,
    sourceAgency: AgencyCode,
    detectedAt: IsoDateTime,
    facts: CaseFacts,
    persons: z.array(Person).max(100).default([]),
  })
  .strict();
export type ReferralDetectedV1 = z.infer<typeof ReferralDetectedV1>;
