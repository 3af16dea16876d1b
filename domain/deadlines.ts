import type { Calendar, Duration, EscalationRung, SlaStep } from '../schemas/policy.js';
import { addWorkingDays } from './calendar.js';

/**
 * SLA deadlines and escalation times, as epoch-ms instants. Imported by workflow code: pure and
 * deterministic, with the start instant always passed in (never read from a clock).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A duration that is plain elapsed time, independent of any calendar. */
export type ElapsedDuration = Exclude<Duration, { workingDays: number }>;

export interface DeadlineOptions {
  /** A minor or a victim at risk: the step's urgentDeadline applies when it has one. */
  urgent: boolean;
  /** Decides which days are working days for workingDays durations. */
  calendar: Calendar;
}

export type EscalationRecipient = EscalationRung['recipient'];

/** One rung of the ladder, pinned to the instant it fires for a given step. */
export interface ScheduledEscalation {
  rung: string;
  recipient: EscalationRecipient;
  alsoInformMinistries: boolean;
  atMs: number;
}

/**
 * Elapsed milliseconds of an hours or days duration. Days are 24 h of elapsed time, not calendar
 * days, so a DST change does not stretch them. Working days have no fixed length (they depend on
 * the start, weekends and holidays), so they throw: use deadlineAt.
 */
export function durationMs(d: Duration): number {
  if ('hours' in d) return Math.round(d.hours * HOUR_MS);
  if ('days' in d) return Math.round(d.days * DAY_MS);
  throw new Error(
    `durationMs: { workingDays: ${d.workingDays} } has no fixed length; use deadlineAt(start, step, { urgent, calendar })`,
  );
}

/** The step's deadline for work started at startMs: the urgent deadline when urgent and the step has one. */
export function deadlineAt(startMs: number, step: SlaStep, opts: DeadlineOptions): number {
  if (!Number.isFinite(startMs)) throw new RangeError(`startMs must be a finite epoch-ms instant, got ${startMs}`);
  const duration = opts.urgent && step.urgentDeadline ? step.urgentDeadline : step.deadline;
  if ('workingDays' in duration) return addWorkingDays(startMs, duration.workingDays, opts.calendar);
  return startMs + durationMs(duration);
}

/**
 * When each rung fires: at its fraction of the allowed time (startMs → deadlineMs), rounded to
 * whole ms so timers are exact. Ladder order is kept; the policy checks that it increases.
 */
export function escalationSchedule(
  startMs: number,
  deadlineMs: number,
  ladder: readonly EscalationRung[],
): ScheduledEscalation[] {
  if (!Number.isFinite(startMs) || !Number.isFinite(deadlineMs)) {
    throw new RangeError(`startMs and deadlineMs must be finite epoch-ms instants, got ${startMs} and ${deadlineMs}`);
  }
  if (deadlineMs < startMs) throw new RangeError(`deadline ${deadlineMs} is before the start ${startMs}`);
  const allowedMs = deadlineMs - startMs;
  return ladder.map((r) => ({
    rung: r.rung,
    recipient: r.recipient,
    // === true: the schema defaults it to false, but a ladder not run through zod may omit it.
    alsoInformMinistries: r.alsoInformMinistries === true,
    atMs: startMs + Math.round(r.atFraction * allowedMs),
  }));
}
