import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { ActionEvent, resolveAction, type ActionEventType } from '../../schemas/actions.js';
import { Priority, Province, ReferralId, ReportedCaseType } from '../../schemas/common.js';
import { ReferralDetectedV1 } from '../../schemas/intake.js';
import { isParty, partiesAt } from '../../domain/jurisdiction.js';
import { justiceWorkflowId, protectionWorkflowId } from '../../workflows/messages.js';
import type { AuthorityGrant, AuthorityPolicy } from '../../schemas/policy.js';
import type { ReferralState } from '../../workflows/types.js';
import { actorOf, type Principal } from '../auth.js';
import { apiError } from '../errors.js';
import type { ReferralService } from '../referral-service.js';
import type { ApiApp, Deny } from '../server.js';

const SEES_ALL = new Set(['operator', 'admin']);

/**
 * Parties to a referral: lead, supporting, informed and the source agency, and the committees of
 * its jurisdiction (`AHTC-D:<PROVINCE>:<DISTRICT>`, `AHTC-P:<PROVINCE>`, `AHTC-N`): the same rule
 * as the workflows' validators and the `Parties` search attribute (domain/jurisdiction.ts).
 * A state without a location (none should be) has no district or provincial committee.
 */
export function partiesOf(state: ReferralState, sourceAgency?: string): string[] {
  const r = state.routing?.status === 'ROUTED' ? state.routing : undefined;
  const agencies = [...(r ? [r.lead, ...r.supporting, ...r.informed, r.escalationCommittee] : []), ...(sourceAgency ? [sourceAgency] : [])];
  if (state.location) return partiesAt(agencies, state.location);
  return [...new Set([...agencies.filter((a) => a !== 'AHTC-D' && a !== 'AHTC-P'), 'AHTC-N'])];
}

/** Personal data is for those who work with the victim: the lead agency's and social welfare's officers, and admins. */
export function mayReadPersons(principal: Principal, state: ReferralState): boolean {
  if (principal.role === 'admin') return true;
  if (principal.role !== 'officer' && principal.role !== 'supervisor') return false;
  const lead = state.routing?.status === 'ROUTED' ? state.routing.lead : undefined;
  return principal.agency === lead || principal.agency === 'SWD';
}

const ListQuery = z
  .object({
    stage: z.string().max(60).regex(/^[A-Z_:]+$/).optional(),
    caseType: ReportedCaseType.optional(),
    leadAgency: z.string().max(20).regex(/^[A-Z-]+$/).optional(),
    province: Province.optional(),
    district: z.string().max(60).optional(),
    priority: Priority.optional(),
    breached: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    open: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

const IdParams = z.object({ referralId: ReferralId }).strict();

/**
 * Who may take an action, in words, from the policy's authority table (the workflows enforce it;
 * this is what /docs says): "lead OFFICER or SUPERVISOR; committee of the jurisdiction SUPERVISOR; …".
 */
export function authorityDescription(authority: AuthorityPolicy | undefined, action: string): string {
  if (!authority) return 'Who may act is decided by the workflow (the policy has no authority table).';
  const relation: Record<string, string> = {
    lead: 'the lead agency',
    supporting: 'a supporting agency',
    informed: 'an informed agency',
    committee: "a committee of the referral's jurisdiction",
    operator: 'an operator',
    partner: 'the partner organisation it concerns',
  };
  const grants = (list: readonly AuthorityGrant[]) =>
    list.length === 0 ? 'nobody' : list.map((g) => `${g.relation ? relation[g.relation] : g.agency}: ${g.roles.join(' or ')}`).join('; ');
  const rows = authority.actions[action as keyof AuthorityPolicy['actions']] ?? [];
  let text = `Who may (policy authority table): ${grants(rows)}. Anyone else: 403 FORBIDDEN.`;
  if (action === 'extend-deadline') {
    const { default: cap, steps } = authority.extensions;
    const perStep = Object.entries(steps).map(([step, c]) => `${step} ${c.maxCount} / ${c.maxWorkingDays}`).join(', ');
    text += ` Each step's clock may be extended at most ${cap.maxCount} times adding ${cap.maxWorkingDays} working days in all${perStep ? ` (${perStep})` : ''}; beyond that only ${grants(authority.extensions.beyondCap)}. The reason is recorded with each extension.`;
  }
  return text;
}

export function registerReferralRoutes(api: ApiApp, service: ReferralService, deny: Deny, authority?: AuthorityPolicy): void {

  api.post(
    '/referrals',
    { schema: { tags: ['referrals'], summary: 'Submit a referral (the same path and dedupe as a Kafka intake)', body: ReferralDetectedV1 } },
    async (request, reply) => {
      const principal = request.principal!;
      if (!['officer', 'supervisor', 'admin'].includes(principal.role)) return deny(request, reply, `role ${principal.role} may not submit referrals`);
      if (principal.role !== 'admin' && request.body.sourceAgency !== principal.agency) {
        return deny(request, reply, `sourceAgency: ${principal.agency} may submit only its own referrals`);
      }
      const outcome = await service.submit(request.body, principal);
      return reply.status(outcome === 'started' ? 201 : 200).send({ referralId: request.body.referralId, outcome });
    },
  );

  api.get('/referrals', { schema: { tags: ['referrals'], summary: 'List and filter referrals (Temporal visibility)', querystring: ListQuery } }, async (request, reply) => {
    const principal = request.principal!;
    if (principal.role === 'partner') return deny(request, reply, 'partners see their tasks at /partner/tasks');
    const referrals = await service.list(request.query, principal, SEES_ALL.has(principal.role));
    return { referrals };
  });

  api.get(
    '/referrals/:referralId',
    { schema: { tags: ['referrals'], summary: 'One referral: state, SLA clocks, audit timeline of every track', params: IdParams } },
    async (request, reply) => {
      const principal = request.principal!;
      // A referral the caller may not see answers exactly as one that does not exist: no existence oracle.
      const notFound = () => apiError('UNKNOWN_REFERRAL', `referralId: no referral ${request.params.referralId}`, 'referralId');
      const detail = await service.get(request.params.referralId);
      if (!detail) return reply.status(404).send(notFound());
      const source = detail.referral.timeline.find((e) => e.action === 'DETECTED')?.agency;
      if (!SEES_ALL.has(principal.role) && !isParty(principal, partiesOf(detail.referral, source))) {
        return deny(request, reply, `${principal.agency} is not a party to referral ${request.params.referralId}`, { notFound });
      }
      const persons = mayReadPersons(principal, detail.referral) ? await service.persons(request.params.referralId) : undefined;
      return { ...detail, ...(persons ? { persons } : {}) };
    },
  );

  // One route per action, with its own body schema (the action without actor and referral id:
  // the actor is always the authenticated caller).
  for (const option of ActionEvent.options) {
    const type = option.shape.type.value as ActionEventType;
    const name = type.replace(/^referral\.action\./, '').replace(/\.v1$/, '');
    const dataSchema = option.shape.data as unknown as z.ZodObject<z.ZodRawShape>;
    const body = dataSchema.omit({ actor: true, referralId: true });
    api.post(
      `/referrals/:referralId/actions/${name}`,
      { schema: { tags: ['actions'], summary: `Action ${name} (the update behind ${type})`, description: authorityDescription(authority, name), params: IdParams, body } },
      async (request, reply) => {
        const principal = request.principal!;
        const { referralId } = request.params;
        // The wire schema has no jurisdiction (a Kafka sender cannot state one): it is added after.
        const { jurisdiction, ...actor } = actorOf(principal);
        const data = { ...(request.body as Record<string, unknown>), referralId, actor };
        const parsed = option.safeParse({ specversion: '1.0', id: 'api', source: 'api', type, data });
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => ({ field: ['body', ...i.path.slice(1).map(String)].join('.'), message: i.message }));
          return reply.status(400).send({ error: { code: 'VALIDATION', message: `${problems.length} invalid field(s)`, field: problems[0]?.field, problems } });
        }
        const { track, update, payload } = resolveAction(parsed.data as ActionEvent);
        if (jurisdiction) payload['actor'] = { ...(payload['actor'] as object), jurisdiction };
        const workflowId = track === 'justice' ? justiceWorkflowId(referralId) : track === 'protection' ? protectionWorkflowId(referralId) : `referral-${referralId}`;
        const idempotencyKey = request.headers['idempotency-key'];
        try {
          const result = await service.act(workflowId, update, payload, typeof idempotencyKey === 'string' ? `api:${principal.id}:${idempotencyKey}` : undefined);
          return { referralId, action: name, outcome: 'accepted', result };
        } catch (err) {
          return sendUpdateError(err, reply, request, deny, referralId, track);
        }
      },
    );
  }
}

type Reply = Parameters<Deny>[1];

/** The workflows' typed rejections become HTTP answers: 403 for who, 409 for when, 400 for what. */
function sendUpdateError(err: unknown, reply: Reply, request: Parameters<Deny>[0], deny: Deny, referralId: string, track: string) {
  if (err instanceof WorkflowNotFoundError) {
    const what = track === 'referral' ? `no referral ${referralId}` : `referral ${referralId} has no ${track} track (yet)`;
    return reply.status(404).send(apiError('UNKNOWN_REFERRAL', `referralId: ${what}`, 'referralId'));
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause as { type?: string; message?: string } | undefined;
    const message = cause?.message ?? 'the action was rejected';
    const field = /^([A-Za-z][\w.]*):/.exec(message)?.[1];
    switch (cause?.type) {
      case 'NotAParty':
      case 'Forbidden':
        return deny(request, reply, message);
      case 'InvalidTransition':
        return reply.status(409).send(apiError('INVALID_TRANSITION', message, field));
      case 'InvalidAction':
        return reply.status(400).send(apiError('VALIDATION', message, field));
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/workflow execution already completed/i.test(message)) return reply.status(409).send(apiError('REFERRAL_CLOSED', `referral ${referralId} is closed`));
  throw err;
}

