import { ApplicationFailure } from '@temporalio/workflow';
import { isParty } from '../domain/jurisdiction.js';
import type { Actor, ActorRole } from './actions.js';

/**
 * Checks shared by the update validators. Each throws a non-retryable ApplicationFailure whose
 * type says what kind of rejection it is, and whose message names the field at fault.
 */
export const Rejection = {
  invalidAction: 'InvalidAction',
  invalidTransition: 'InvalidTransition',
  notAParty: 'NotAParty',
  forbidden: 'Forbidden',
} as const;

export function reject(type: (typeof Rejection)[keyof typeof Rejection], message: string): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true });
}

/**
 * What Actor.assertedBy may hold: it goes into the audit trail as it is, so only the shapes the
 * actions bridge writes (`NCCIA`, `AHTC-D`, `PARTNER:IOM`), never free text.
 */
const ASSERTED_BY = /^(?:[A-Z][A-Z0-9_-]{0,31}|PARTNER:[A-Za-z0-9][A-Za-z0-9_-]{0,31})$/;

export function requireActor(actor: Actor | undefined): asserts actor is Actor {
  if (!actor || typeof actor !== 'object') reject(Rejection.invalidAction, 'actor: required');
  if (!actor.actorId) reject(Rejection.invalidAction, 'actor.actorId: required');
  if (!actor.agency) reject(Rejection.invalidAction, 'actor.agency: required');
  if (!actor.role) reject(Rejection.invalidAction, 'actor.role: required');
  if (actor.assertedBy !== undefined && (typeof actor.assertedBy !== 'string' || !ASSERTED_BY.test(actor.assertedBy))) {
    reject(Rejection.invalidAction, 'actor.assertedBy: an agency code, or PARTNER:<organisation code>');
  }
}

/**
 * The acting agency must be one of the referral's parties; a committee only for the referral's own
 * jurisdiction (`parties` holds `AHTC-D:<PROVINCE>:<DISTRICT>`, `AHTC-P:<PROVINCE>`, `AHTC-N`).
 */
export function requireParty(actor: Actor, parties: readonly string[]): void {
  requireActor(actor);
  if (!isParty(actor, parties)) {
    const where = actor.jurisdiction ? ` (${[actor.jurisdiction.province, actor.jurisdiction.district].filter(Boolean).join(':')})` : '';
    reject(Rejection.notAParty, `actor.agency: ${actor.agency}${where} is not a party to this referral`);
  }
}

/** The action belongs to one agency (or one of a few): e.g. a charge decision to PROSECUTION. */
export function requireAgency(actor: Actor, agencies: readonly string[], action: string): void {
  requireActor(actor);
  if (!agencies.includes(actor.agency)) {
    reject(Rejection.forbidden, `actor.agency: ${action} is for ${agencies.join(' or ')}, not ${actor.agency}`);
  }
}

export function requireRole(actor: Actor, roles: readonly ActorRole[], action: string): void {
  requireActor(actor);
  if (!roles.includes(actor.role)) reject(Rejection.forbidden, `actor.role: ${action} needs the role ${roles.join(' or ')}`);
}

export function requireText(value: string | undefined, field: string): void {
  if (typeof value !== 'string' || value.trim().length === 0) reject(Rejection.invalidAction, `${field}: required`);
}

export function requireOneOf<T extends string>(value: T | undefined, allowed: readonly T[], field: string): void {
  if (value === undefined || !allowed.includes(value)) reject(Rejection.invalidAction, `${field}: must be one of ${allowed.join(', ')}`);
}

/** The step must be waiting: you cannot act on a step that is not the current one. */
export function requireStage(current: string, allowed: readonly string[], action: string): void {
  if (!allowed.includes(current)) {
    reject(Rejection.invalidTransition, `${action} is not possible at stage ${current} (expected ${allowed.join(' or ')})`);
  }
}

/** Supervisors, operators and admins may move clocks; committees too. */
export const CLOCK_ROLES: readonly ActorRole[] = ['SUPERVISOR', 'OPERATOR', 'ADMIN'];

export function validateClockChange(
  actor: Actor,
  parties: readonly string[],
  step: string | undefined,
  running: readonly string[],
  reason: string | undefined,
): void {
  requireParty(actor, parties);
  requireRole(actor, CLOCK_ROLES, 'moving an SLA clock');
  requireClockStep(step, running, reason);
}

/** A clock change names its reason and a step whose clock is running. */
export function requireClockStep(step: string | undefined, running: readonly string[], reason: string | undefined): asserts step is string {
  requireText(reason, 'reason');
  if (!step || !running.includes(step)) {
    reject(Rejection.invalidTransition, `step: "${step ?? ''}" has no running clock (running: ${running.join(', ') || 'none'})`);
  }
}
