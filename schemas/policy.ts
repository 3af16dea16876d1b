import { z } from 'zod';
import { DEFAULT_DEDUPE_WINDOW } from '../workflows/dedupe-window.js';
import { AgencyCode, CaseType, Province } from './common.js';

/**
 * One row of the charge matrix. A row matches when every condition it names holds;
 * the first matching row (in file order) decides. Rows are data, edited by operators.
 */
export const ChargeRule = z
  .object({
    id: z.string().min(1),
    when: z
      .object({
        caseType: CaseType,
        provinces: z.array(Province).min(1).optional(),
        crossBorder: z.boolean().optional(),
        minor: z.boolean().optional(),
        victimAbroad: z.boolean().optional(),
        organisedNetwork: z.boolean().optional(),
      })
      .strict(),
    lead: AgencyCode,
    supporting: z.array(AgencyCode).default([]),
    informed: z.array(AgencyCode).default([]),
    escalationCommittee: AgencyCode,
  })
  .strict();
export type ChargeRule = z.infer<typeof ChargeRule>;

/** Flags that add agencies whatever row matched (e.g. a minor brings child protection in). */
export const FlagAddition = z
  .object({
    flag: z.enum(['minor', 'victimAbroad', 'victimAtRisk', 'organisedNetwork', 'crossBorder']),
    supporting: z.array(AgencyCode).default([]),
    informed: z.array(AgencyCode).default([]),
  })
  .strict();
export type FlagAddition = z.infer<typeof FlagAddition>;

export const Duration = z.union([
  z.object({ hours: z.number().positive() }).strict(),
  z.object({ days: z.number().positive() }).strict(),
  z.object({ workingDays: z.number().int().positive() }).strict(),
]);
export type Duration = z.infer<typeof Duration>;

export const SlaStep = z
  .object({
    deadline: Duration,
    /** Shorter deadline used when the referral has a minor or a victim at risk. */
    urgentDeadline: Duration.optional(),
  })
  .strict();
export type SlaStep = z.infer<typeof SlaStep>;

export const EscalationRung = z
  .object({
    rung: z.string().min(1),
    /** Fraction of the step's allowed time at which this rung fires: 0.75 reminder, 1 breach, 1.5 … */
    atFraction: z.number().positive().max(10),
    recipient: z.enum(['ASSIGNED_OFFICER', 'HEAD_OF_UNIT', 'AHTC-D', 'AHTC-P', 'AHTC-N']),
    alsoInformMinistries: z.boolean().default(false),
  })
  .strict();
export type EscalationRung = z.infer<typeof EscalationRung>;

export const Calendar = z
  .object({
    timeZone: z.string().min(1),
    /** ISO weekday numbers (1 = Monday … 7 = Sunday) that are not working days. */
    weekend: z.array(z.number().int().min(1).max(7)).max(6),
    holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')),
  })
  .strict();
export type Calendar = z.infer<typeof Calendar>;

/** Protection-track settings: months after reintegration at which a follow-up is due. */
export const ProtectionPolicy = z
  .object({
    followUpMonths: z.array(z.number().int().positive().max(60)).min(1),
  })
  .strict();
export type ProtectionPolicy = z.infer<typeof ProtectionPolicy>;

/**
 * Agency actions. `dedupeWindow`: the applied action ids a track hands on when it continues as new,
 * so that an action redelivered after the rollover is answered as a duplicate, not applied again.
 * Every id is carried in the next run's input: the bounds keep that input small.
 */
export const ActionsPolicy = z
  .object({
    dedupeWindow: z
      .object({
        /** The most recent ids kept. */
        maxIds: z.number().int().positive().max(10_000).default(DEFAULT_DEDUPE_WINDOW.maxIds),
        /** Ids applied longer ago than this are dropped (days of elapsed time). */
        maxAgeDays: z.number().positive().max(3_650).default(DEFAULT_DEDUPE_WINDOW.maxAgeDays),
      })
      .strict()
      .default({}),
  })
  .strict();
export type ActionsPolicy = z.infer<typeof ActionsPolicy>;

/** The SLA steps the lifecycle runs; each must have an entry in `sla`. */
export const slaStepNames = [
  'acknowledge',
  'screening',
  'protection',
  'contentBlock',
  'licenceCheck',
  'caseRegistration',
  'investigationReport',
  'interimReport',
  'chargeDecision',
  'prosecutionStatus',
  'reintegrationPlan',
  'partnerTask',
  'followUp',
  'appealWindow',
] as const;
export type SlaStepName = (typeof slaStepNames)[number];

export const Policy = z
  .object({
    version: z.string().min(1),
    chargeMatrix: z.array(ChargeRule).min(1),
    flagAdditions: z.array(FlagAddition).default([]),
    sla: z.record(z.string(), SlaStep),
    escalationLadder: z.array(EscalationRung).min(1),
    calendar: Calendar,
    protection: ProtectionPolicy.default({ followUpMonths: [3, 6, 12] }),
    actions: ActionsPolicy.default({}),
  })
  .strict();
export type Policy = z.infer<typeof Policy>;
