import { z } from 'zod';
import { AgencyCode, CaseType } from './common.js';

export const RoutedDecision = z
  .object({
    status: z.literal('ROUTED'),
    ruleId: z.string(),
    caseType: CaseType,
    lead: AgencyCode,
    supporting: z.array(AgencyCode),
    informed: z.array(AgencyCode),
    escalationCommittee: AgencyCode,
  })
  .strict();
export type RoutedDecision = z.infer<typeof RoutedDecision>;

export const UnroutedDecision = z
  .object({
    status: z.literal('UNROUTED'),
    reason: z.string(),
  })
  .strict();
export type UnroutedDecision = z.infer<typeof UnroutedDecision>;

/** The charge matrix's answer: a route, or an explicit "unrouted" that is escalated. */
export const RoutingDecision = z.discriminatedUnion('status', [RoutedDecision, UnroutedDecision]);
export type RoutingDecision = z.infer<typeof RoutingDecision>;
