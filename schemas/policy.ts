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

/**
 * The agency actions, by the names of their routes and events (`POST /referrals/:id/actions/<name>`,
 * `referral.action.<name>.v1`): the rows of the authority table.
 */
export const authorityActions = [
  'acknowledge',
  'complete-screening',
  'reclassify',
  'withdraw',
  'extend-deadline',
  'reassign-step',
  'register-case',
  'investigation-report',
  'charge-decision',
  'trial-update',
  'verdict',
  'appeal',
  'content-block',
  'licence-check',
  'protection-placement',
  'reintegration-plan',
  'complete-task',
  'follow-up',
] as const;
export const AuthorityAction = z.enum(authorityActions);
export type AuthorityAction = z.infer<typeof AuthorityAction>;

/**
 * How an actor stands to a referral: its routing's `lead`, a `supporting` or `informed` agency, a
 * `committee` of the referral's own jurisdiction (domain/jurisdiction.ts), an `operator` (role
 * OPERATOR or ADMIN, through the HTTP API), or the `partner` organisation the action concerns (the
 * task's own; for a follow-up, one with a task in the plan).
 */
export const AuthorityRelation = z.enum(['lead', 'supporting', 'informed', 'committee', 'operator', 'partner']);
export type AuthorityRelation = z.infer<typeof AuthorityRelation>;
export const AuthorityRole = z.enum(['OFFICER', 'SUPERVISOR', 'OPERATOR', 'PARTNER', 'ADMIN']);
export type AuthorityRole = z.infer<typeof AuthorityRole>;

/** One cell group of the table: the roles of one relation (or of one named agency, e.g. PROSECUTION) that may act. */
export const AuthorityGrant = z
  .object({
    relation: AuthorityRelation.optional(),
    /** An agency that owns the step whatever the routing says (PROSECUTION, PTA, BEOE, SWD). */
    agency: AgencyCode.optional(),
    roles: z.array(AuthorityRole).min(1),
  })
  .strict()
  .refine((g) => (g.relation === undefined) !== (g.agency === undefined), { message: 'name a relation or an agency, not both' });
export type AuthorityGrant = z.infer<typeof AuthorityGrant>;

/** How far one step's clock may be extended: extensions and the working days they add, in total. */
export const ExtensionCap = z.object({ maxCount: z.number().int().min(0).max(100), maxWorkingDays: z.number().int().min(0).max(3650) }).strict();
export type ExtensionCap = z.infer<typeof ExtensionCap>;

/**
 * Who may do what: action × relation × role. Enforced by the workflows' update validators for
 * referrals started with it (a referral keeps the policy it started with: one started without
 * the table keeps the rules it had). `extensions` caps each step's extensions; beyond the cap only
 * `beyondCap` may extend (the committee of the jurisdiction).
 */
export const AuthorityPolicy = z
  .object({
    $comment: z.string().optional(),
    actions: z.record(AuthorityAction, z.array(AuthorityGrant)),
    extensions: z
      .object({
        default: ExtensionCap,
        /** Per policy step (`investigationReport`, `partnerTask`, …). */
        steps: z.record(z.string(), ExtensionCap).default({}),
        beyondCap: z.array(AuthorityGrant).min(1),
      })
      .strict(),
  })
  .strict();
export type AuthorityPolicy = z.infer<typeof AuthorityPolicy>;

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
    authority: AuthorityPolicy.optional(),
  })
  .strict();
export type Policy = z.infer<typeof Policy>;
