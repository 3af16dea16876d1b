import { readFileSync } from 'node:fs';
import { callApi, type ApiSettings } from '../cli/api.js';
import { CliError, EXIT } from '../cli/errors.js';
import { routeCase } from '../domain/routing.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { Policy } from '../schemas/policy.js';

/**
 * The demo's second part: one referral taken from intake to an agreed reintegration plan through
 * the HTTP API, as the agencies' own people would (each with its development key), so that the
 * partner page has a task to show: the lead's officer acknowledges and screens it (victim at
 * risk), SWD records the placement and agrees the plan with one task for IOM.
 */
export interface PlanDemo {
  apiUrl: URL;
  /** Development API keys by identity id (scripts/dev-identities.ts writes them). */
  keys: Record<string, string>;
  policy: Policy;
  log(message: string): void;
  /** How long to wait for each step to become possible (the referral routed, the protection track started). */
  waitMs?: number;
}

export const PLAN_PARTNER = 'IOM';

export function readKeys(file: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (err) {
    throw new Error(`--keys: cannot read the development API keys at ${file} (${(err as Error).message}); 'npm start' writes them`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drives `referral` to an agreed plan; returns the task the partner now has. */
export async function driveToPlan(referral: ReferralDetectedV1, o: PlanDemo): Promise<{ taskId: string; partner: string }> {
  const decision = routeCase({ chargeMatrix: o.policy.chargeMatrix, flagAdditions: o.policy.flagAdditions }, referral.facts);
  if (decision.status !== 'ROUTED') throw new Error(`${referral.referralId} does not route under policy ${o.policy.version}`);
  const as = (identity: string): ApiSettings => {
    const apiKey = o.keys[identity];
    if (!apiKey) throw new Error(`no development key for "${identity}" in the keys file`);
    return { baseUrl: o.apiUrl, apiKey, timeoutMs: 60_000 };
  };
  const lead = `${decision.lead.toLowerCase()}-officer`;
  const id = referral.referralId;
  const waitMs = o.waitMs ?? 60_000;

  /**
   * An action, retried while it is not possible yet: its workflow does not exist (404: the track
   * not started yet) or has not reached the step (409 INVALID_TRANSITION: the referral still routing).
   */
  const act = async (identity: string, action: string, body: object) => {
    const until = Date.now() + waitMs;
    for (;;) {
      try {
        return await callApi<{ outcome: string; result?: { stage?: string } }>(as(identity), 'POST', `/referrals/${encodeURIComponent(id)}/actions/${action}`, { body });
      } catch (err) {
        const notYet = err instanceof CliError && (err.exitCode === EXIT.NOT_FOUND || err.message.startsWith('INVALID_TRANSITION:'));
        if (!notYet || Date.now() > until) throw err;
        await sleep(500);
      }
    }
  };

  await act(lead, 'acknowledge', { reason: 'demo: officer assigned' });
  o.log(`${id}: acknowledged by ${lead}`);
  await act(lead, 'complete-screening', { outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: true, consent: 'GIVEN' });
  o.log(`${id}: screened by ${lead} (victim identified, at risk): the justice and protection tracks start`);
  await act('swd-officer', 'protection-placement', { placement: 'SHELTER' });
  o.log(`${id}: placement in a shelter recorded by swd-officer`);
  const task = { taskId: 'T1', kind: 'SHELTER', partner: PLAN_PARTNER };
  await act('swd-officer', 'reintegration-plan', { partner: PLAN_PARTNER, tasks: [task] });
  o.log(`${id}: reintegration plan agreed by swd-officer: task ${task.taskId} (${task.kind}) for ${PLAN_PARTNER}`);
  return { taskId: task.taskId, partner: PLAN_PARTNER };
}
