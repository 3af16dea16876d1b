import { workingDaysAdded } from '../domain/calendar.js';
import { durationMs } from '../domain/deadlines.js';
import { committeesOf, isCommittee, isParty, type Location } from '../domain/jurisdiction.js';
import type { AuthorityAction, AuthorityGrant, AuthorityPolicy, AuthorityRelation, Calendar, ExtensionCap } from '../schemas/policy.js';
import type { Actor } from './actions.js';
import { Rejection, reject, requireClockStep, requireParty } from './guards.js';
import type { SlaTracker } from './sla.js';

/**
 * The policy's authority table (policy.authority) as the update validators apply it: an action is
 * allowed when one of its grants names a relation the actor has to the referral (or the actor's
 * agency) and the actor's role. Read from the workflow input: a referral keeps the policy it
 * started with, and one started without the table keeps the rules it had (AUTHORITY_PATCH).
 */
export const AUTHORITY_PATCH = 'authority-from-policy';

/** What the relations are computed from: the current routing and the referral's location. */
export interface AuthorityContext {
  lead?: string | undefined;
  supporting: readonly string[];
  informed: readonly string[];
  location: Location;
}

const OPERATOR_ROLES: readonly string[] = ['OPERATOR', 'ADMIN'];

/** Every relation the actor has to the referral; `partner` only when the action says the actor is the partner it concerns. */
export function relationsOf(actor: Actor, ctx: AuthorityContext, partner = false): AuthorityRelation[] {
  const out: AuthorityRelation[] = [];
  if (ctx.lead !== undefined && actor.agency === ctx.lead) out.push('lead');
  if (ctx.supporting.includes(actor.agency)) out.push('supporting');
  if (ctx.informed.includes(actor.agency)) out.push('informed');
  if (isCommittee(actor.agency) && isParty(actor, committeesOf(ctx.location))) out.push('committee');
  if (OPERATOR_ROLES.includes(actor.role)) out.push('operator');
  if (partner && actor.agency === 'PARTNER') out.push('partner');
  return out;
}

export function grants(grantList: readonly AuthorityGrant[], actor: Actor, relations: readonly AuthorityRelation[]): boolean {
  return grantList.some((g) => (g.relation !== undefined ? relations.includes(g.relation) : g.agency === actor.agency) && (g.roles as readonly string[]).includes(actor.role));
}

/** The grants in words, for a refusal: "lead SUPERVISOR, committee SUPERVISOR, operator OPERATOR/ADMIN". */
export function describeGrants(grantList: readonly AuthorityGrant[]): string {
  if (grantList.length === 0) return 'nobody';
  return grantList.map((g) => `${g.relation ?? g.agency} ${g.roles.join('/')}`).join(', ');
}

/**
 * Why the table refuses, starting with the field at fault: `actor.role` when a grant covers the
 * actor's relation but not its role, `actor.organisation` for a partner the action does not
 * concern, `actor.agency` otherwise.
 */
function refusal(action: string, list: readonly AuthorityGrant[], actor: Actor, relations: readonly AuthorityRelation[], ctx: AuthorityContext): string {
  const who = (g: AuthorityGrant) => (g.relation === 'lead' && ctx.lead ? `lead (${ctx.lead})` : (g.relation ?? g.agency ?? ''));
  const forWhom = list.length === 0 ? 'nobody' : list.map((g) => `${who(g)} ${g.roles.join('/')}`).join(', ');
  const standing = list.filter((g) => (g.relation !== undefined ? relations.includes(g.relation) : g.agency === actor.agency));
  if (standing.length > 0) return `actor.role: ${action} needs the role ${[...new Set(standing.flatMap((g) => g.roles))].join(' or ')} (policy authority: ${forWhom}), not ${actor.role}`;
  if (actor.agency === 'PARTNER' && list.some((g) => g.relation === 'partner')) {
    return `actor.organisation: ${action} is for the partner organisation it concerns, not ${actor.organisation ?? ''} (policy authority: ${forWhom})`;
  }
  return `actor.agency: ${action} is for ${forWhom} (policy authority), not ${actor.agency}`;
}

export interface Authority {
  readonly table: AuthorityPolicy;
  /**
   * Rejects an actor the table does not allow: NotAParty when it has no standing at all (not a
   * party and no operator), Forbidden when no grant of the action covers its relation and role.
   */
  require(action: AuthorityAction, actor: Actor, options?: { partner?: boolean }): void;
  /** The cap of a policy step's extensions. */
  capOf(policyStep: string): ExtensionCap;
  relations(actor: Actor, partner?: boolean): AuthorityRelation[];
}

/**
 * extend-deadline and reassign-step under the table: who (the table), the reason and a running
 * step; an extension also within its step's cap, or by beyondCap. Returns what an extension
 * counts, for the handler to record (the same computation on the same state).
 */
export function requireClockChangeByTable(
  authority: Authority,
  action: 'extend-deadline' | 'reassign-step',
  actor: Actor,
  step: string | undefined,
  reason: string | undefined,
  sla: SlaTracker,
  by?: { hours: number } | { days: number },
): ExtensionUse | undefined {
  authority.require(action, actor);
  requireClockStep(step, sla.runningSteps(), reason);
  if (action !== 'extend-deadline' || !by) return undefined;
  const use = extensionUse(authority, sla.extensionState(step)!, by, sla.calendar);
  requireWithinCap(authority, use, actor, authority.relations(actor), step);
  return use;
}

/** What the handler of an accepted extension records under the table. */
export function countedExtension(authority: Authority | undefined, step: string, by: { hours: number } | { days: number }, sla: SlaTracker): { workingDays: number; beyondCap: boolean } | undefined {
  const state = authority ? sla.extensionState(step) : undefined;
  if (!authority || !state) return undefined;
  const use = extensionUse(authority, state, by, sla.calendar);
  return { workingDays: use.adding, beyondCap: use.beyondCap };
}

/** The table of the referral's policy when the workflow runs with AUTHORITY_PATCH and the policy has one; otherwise undefined (the old rules). */
export function authorityOf(
  enabled: boolean,
  table: AuthorityPolicy | undefined,
  context: () => AuthorityContext,
  parties: () => readonly string[],
): Authority | undefined {
  if (!enabled || !table) return undefined;
  return {
    table,
    require(action, actor, options = {}) {
      const relations = relationsOf(actor, context(), options.partner ?? false);
      if (!relations.includes('operator')) requireParty(actor, parties());
      const list = table.actions[action] ?? [];
      if (!grants(list, actor, relations)) reject(Rejection.forbidden, refusal(action, list, actor, relations, context()));
    },
    capOf(policyStep) {
      return table.extensions.steps[policyStep] ?? table.extensions.default;
    },
    relations(actor, partner = false) {
      return relationsOf(actor, context(), partner);
    },
  };
}

/** What one more extension of a clock would bring it to, against its cap. */
export interface ExtensionUse {
  /** Extensions granted so far, and the working days they added. */
  count: number;
  workingDays: number;
  /** The working days this one adds. */
  adding: number;
  cap: ExtensionCap;
  beyondCap: boolean;
}

export function extensionUse(
  authority: Authority,
  clock: { policyStep: string; deadlineMs: number; extensions: number; extendedWorkingDays: number },
  by: { hours: number } | { days: number },
  calendar: Calendar,
): ExtensionUse {
  const cap = authority.capOf(clock.policyStep);
  const adding = workingDaysAdded(clock.deadlineMs, clock.deadlineMs + durationMs(by), calendar);
  const beyondCap = clock.extensions + 1 > cap.maxCount || clock.extendedWorkingDays + adding > cap.maxWorkingDays;
  return { count: clock.extensions, workingDays: clock.extendedWorkingDays, adding, cap, beyondCap };
}

/** Beyond its cap a clock is extended only by beyondCap (the committee of the jurisdiction). */
export function requireWithinCap(authority: Authority, use: ExtensionUse, actor: Actor, relations: readonly AuthorityRelation[], step: string): void {
  if (!use.beyondCap) return;
  if (grants(authority.table.extensions.beyondCap, actor, relations)) return;
  reject(
    Rejection.forbidden,
    `by: ${step} has had ${use.count} extension(s) adding ${use.workingDays} working day(s); the policy allows ${use.cap.maxCount} adding ${use.cap.maxWorkingDays} (this one adds ${use.adding}): beyond that only ${describeGrants(authority.table.extensions.beyondCap)}`,
  );
}
