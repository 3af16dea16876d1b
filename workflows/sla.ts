import { condition, workflowInfo } from '@temporalio/workflow';
import { deadlineAt, durationMs, escalationSchedule, type ScheduledEscalation } from '../domain/deadlines.js';
import type { Policy, SlaStep } from '../schemas/policy.js';
import type { SlaNotification } from '../schemas/notifications.js';
import type { Actor } from './actions.js';
import { auditActor } from './events.js';
import type { AuditEntry, SlaClockView } from './types.js';

/**
 * One SLA mechanism for every step of every track. A step's clock runs from its start to the
 * policy deadline; the escalation ladder's rungs fire at their fractions of that time (reminder
 * before, breach at, committees after) while the step keeps waiting. An extension or a
 * reassignment by an authorised actor moves the clock; each is recorded with its reason.
 * Deterministic: times come from the workflow clock, timers from condition().
 */

export interface SlaParties {
  /** Ministries the charge matrix names: told at the ladder's top rung. */
  ministries: string[];
}

export interface SlaFacts {
  referralId: string;
  caseType: string;
  province: SlaNotification['data']['province'];
  district: string;
  priority: 'URGENT' | 'HIGH' | 'NORMAL';
  stage: () => string;
}

export interface SlaHooks {
  publish(notifications: SlaNotification[]): Promise<void>;
  record(entry: AuditEntry): void;
  /** Called whenever a clock starts, stops, moves or breaches: keep search attributes current. */
  changed(): void;
}

interface Clock {
  step: string;
  /** The policy.sla entry that times this clock (the step itself unless RunStepOptions.policyStep says otherwise). */
  policyStep: string;
  cycle: number;
  responsible: string;
  startMs: number;
  deadlineMs: number;
  version: number;
  fired: Set<string>;
  breached: boolean;
  status: 'RUNNING' | 'MET' | 'CANCELLED';
  metMs?: number;
  assignee?: string;
  extensions: number;
  /** Working days the extensions added (counted for referrals under the authority table's caps). */
  extendedWorkingDays: number;
}

export interface RunStepOptions {
  /** Agency that must act; a function when it can change while the step waits (the lead, after a re-classification). */
  responsible: string | (() => string);
  /** Start of the clock, when the step's time runs from an earlier event (e.g. identification). */
  startMs?: number;
  /** What the responsible agency must do, for the notifications. */
  actionRequired: string;
  /**
   * The policy.sla entry that times the step, when the clock's name is not itself a policy step:
   * e.g. one clock per partner task, `partnerTask:<taskId>`, all timed by `partnerTask`.
   */
  policyStep?: string;
}

export class SlaTracker {
  private readonly clocks = new Map<string, Clock>();
  private readonly cycles = new Map<string, number>();

  constructor(
    private readonly policy: Policy,
    private readonly urgent: boolean,
    private readonly facts: SlaFacts,
    private readonly parties: () => SlaParties,
    private readonly hooks: SlaHooks,
  ) {}

  /**
   * Runs the step's clock until `done()` holds. Never gives up: after the last rung the step
   * keeps waiting, breached, until it is done or cancelled.
   * Returns 'done' or 'cancelled'.
   */
  async run(step: string, done: () => boolean, options: RunStepOptions): Promise<'done' | 'cancelled'> {
    const policyStep = options.policyStep ?? step;
    const slaStep = this.stepPolicy(policyStep);
    const cycle = (this.cycles.get(step) ?? 0) + 1;
    this.cycles.set(step, cycle);
    const startMs = options.startMs ?? Date.now();
    const clock: Clock = {
      step,
      policyStep,
      cycle,
      get responsible() {
        const responsible = options.responsible;
        return typeof responsible === 'function' ? responsible() : responsible;
      },
      startMs,
      deadlineMs: deadlineAt(startMs, slaStep, { urgent: this.urgent, calendar: this.policy.calendar }),
      version: 0,
      fired: new Set(),
      breached: false,
      status: 'RUNNING',
      extensions: 0,
      extendedWorkingDays: 0,
    };
    this.clocks.set(step, clock);
    this.hooks.changed();

    for (;;) {
      const version = clock.version;
      const pending = this.schedule(clock).filter((r) => !clock.fired.has(r.rung));
      const next = pending[0];
      const finished = () => done() || clock.status === 'CANCELLED' || clock.version !== version;
      if (next) {
        await condition(finished, Math.max(1, next.atMs - Date.now()));
      } else {
        await condition(finished);
      }
      if (clock.status === 'CANCELLED') return 'cancelled';
      if (done()) {
        clock.status = 'MET';
        clock.metMs = Date.now();
        this.hooks.changed();
        return 'done';
      }
      if (clock.version !== version) continue;
      if (next && Date.now() >= next.atMs) await this.fire(clock, next, options.actionRequired);
    }
  }

  /**
   * Moves the deadline of a running step later, recorded with the actor and reason; with
   * `counted` (the authority table's caps) also the working days it adds, the how-manieth
   * extension it is, and whether it went beyond the cap.
   */
  extend(step: string, by: { hours: number } | { days: number }, actor: Actor, reason: string, counted?: { workingDays: number; beyondCap: boolean }): void {
    const clock = this.running(step);
    clock.deadlineMs += durationMs(by);
    this.restartLadder(clock);
    clock.extensions += 1;
    if (counted) clock.extendedWorkingDays += counted.workingDays;
    this.hooks.record({
      at: new Date().toISOString(),
      action: 'DEADLINE_EXTENDED',
      ...auditActor(actor),
      reason,
      details: {
        step,
        newDeadline: new Date(clock.deadlineMs).toISOString(),
        ...(counted ? { workingDays: counted.workingDays, extension: clock.extensions, extendedWorkingDays: clock.extendedWorkingDays, beyondCap: counted.beyondCap } : {}),
      },
    });
    this.hooks.changed();
  }

  /** A new assignee gets the step's full time again, from now. */
  reassign(step: string, assignee: string, actor: Actor, reason: string): void {
    const clock = this.running(step);
    const now = Date.now();
    clock.startMs = now;
    clock.deadlineMs = deadlineAt(now, this.stepPolicy(clock.policyStep), { urgent: this.urgent, calendar: this.policy.calendar });
    clock.assignee = assignee;
    clock.breached = false;
    this.restartLadder(clock);
    this.hooks.record({
      at: new Date(now).toISOString(),
      action: 'REASSIGNED',
      ...auditActor(actor),
      reason,
      details: { step, assignee, newDeadline: new Date(clock.deadlineMs).toISOString() },
    });
    this.hooks.changed();
  }

  cancel(step: string): void {
    const clock = this.clocks.get(step);
    if (clock?.status === 'RUNNING') {
      clock.status = 'CANCELLED';
      this.hooks.changed();
    }
  }

  /** What an extension of a running step counts against (undefined when the step has no running clock). */
  extensionState(step: string): { policyStep: string; deadlineMs: number; extensions: number; extendedWorkingDays: number } | undefined {
    const clock = this.clocks.get(step);
    if (!clock || clock.status !== 'RUNNING') return undefined;
    return { policyStep: clock.policyStep, deadlineMs: clock.deadlineMs, extensions: clock.extensions, extendedWorkingDays: clock.extendedWorkingDays };
  }

  get calendar(): Policy['calendar'] {
    return this.policy.calendar;
  }

  isRunning(step: string): boolean {
    return this.clocks.get(step)?.status === 'RUNNING';
  }

  runningSteps(): string[] {
    return [...this.clocks.values()].filter((c) => c.status === 'RUNNING').map((c) => c.step);
  }

  /** Earliest deadline among running clocks, for the NextDeadline search attribute. */
  nextDeadline(): Date | undefined {
    const running = [...this.clocks.values()].filter((c) => c.status === 'RUNNING');
    if (running.length === 0) return undefined;
    return new Date(Math.min(...running.map((c) => c.deadlineMs)));
  }

  anyBreached(): boolean {
    return [...this.clocks.values()].some((c) => c.breached && c.status === 'RUNNING');
  }

  everBreached(): boolean {
    return [...this.clocks.values()].some((c) => c.breached);
  }

  view(): SlaClockView[] {
    return [...this.clocks.values()].map((c) => ({
      step: c.step,
      responsible: c.responsible,
      status: c.status,
      startedAt: new Date(c.startMs).toISOString(),
      deadline: new Date(c.deadlineMs).toISOString(),
      breached: c.breached,
      firedRungs: [...c.fired],
      ...(c.metMs !== undefined ? { metAt: new Date(c.metMs).toISOString() } : {}),
      ...(c.assignee !== undefined ? { assignee: c.assignee } : {}),
      extensions: c.extensions,
      ...(c.extendedWorkingDays > 0 ? { extendedWorkingDays: c.extendedWorkingDays } : {}),
    }));
  }

  private stepPolicy(step: string): SlaStep {
    const slaStep = this.policy.sla[step];
    if (!slaStep) throw new Error(`policy ${this.policy.version} has no SLA for step "${step}"`);
    return slaStep;
  }

  private running(step: string): Clock {
    const clock = this.clocks.get(step);
    if (!clock || clock.status !== 'RUNNING') throw new Error(`step "${step}" has no running clock`);
    return clock;
  }

  /** A moved clock starts its ladder over: rungs fire again relative to the new deadline. */
  private restartLadder(clock: Clock): void {
    clock.version += 1;
    clock.fired.clear();
    clock.breached = Date.now() >= clock.deadlineMs;
  }

  private schedule(clock: Clock): ScheduledEscalation[] {
    return escalationSchedule(clock.startMs, clock.deadlineMs, this.policy.escalationLadder);
  }

  private async fire(clock: Clock, rung: ScheduledEscalation, actionRequired: string): Promise<void> {
    clock.fired.add(rung.rung);
    const fraction = this.policy.escalationLadder.find((r) => r.rung === rung.rung)?.atFraction ?? 1;
    const kind = fraction < 1 ? 'REMINDER' : fraction === 1 ? 'BREACH' : 'ESCALATION';
    if (kind !== 'REMINDER') clock.breached = true;
    const parties = this.parties();
    const recipients = new Set<string>();
    recipients.add(rung.recipient === 'ASSIGNED_OFFICER' || rung.recipient === 'HEAD_OF_UNIT' ? clock.responsible : rung.recipient);
    if (rung.alsoInformMinistries) parties.ministries.forEach((m) => recipients.add(m));
    const now = new Date().toISOString();
    this.hooks.record({
      at: now,
      action: `SLA_${kind}`,
      actor: 'sla',
      agency: clock.responsible,
      details: { step: clock.step, rung: rung.rung, recipients: [...recipients].join(','), deadline: new Date(clock.deadlineMs).toISOString() },
    });
    this.hooks.changed();
    const { workflowId } = workflowInfo();
    await this.hooks.publish(
      [...recipients].map((recipient) => ({
        // Stable across retries and replays: workflow, step, its cycle and clock version, rung, recipient.
        id: `${workflowId}/sla/${clock.step}.${clock.cycle}.${clock.version}/${rung.rung}/${recipient}`,
        type: 'referral.sla.v1' as const,
        subject: this.facts.referralId,
        time: now,
        recipient,
        data: {
          referralId: this.facts.referralId,
          caseType: this.facts.caseType as SlaNotification['data']['caseType'],
          stage: this.facts.stage(),
          province: this.facts.province,
          district: this.facts.district,
          priority: this.facts.priority,
          recipient,
          step: clock.step,
          rung: rung.rung,
          kind,
          responsible: clock.responsible,
          recipientRole: rung.recipient,
          deadline: new Date(clock.deadlineMs).toISOString(),
          actionRequired,
          policyVersion: this.policy.version,
        },
      })),
    );
  }
}
