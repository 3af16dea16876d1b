/**
 * The window of applied action ids a track carries across continue-as-new. Temporal deduplicates
 * an update id only within one run; the actions bridge derives the id from the CloudEvent's source
 * and id, so an action redelivered after a rollover would otherwise be applied a second time.
 *
 * Pure code with no imports: the policy schema (schemas/policy.ts) takes its defaults from here,
 * and the workflows use it in the sandbox.
 */

/** How many ids, and how old, a run hands on to the next (policy `actions.dedupeWindow`). */
export interface DedupeWindow {
  maxIds: number;
  maxAgeDays: number;
}

/**
 * A redelivery comes from what the actions topic still holds (Kafka keeps 7 days by default, so a
 * consumer reset replays at most that far back): 30 days leaves room for a longer retention. 1000
 * ids is far more than one run of a track applies, and keeps the next run's input small.
 */
export const DEFAULT_DEDUPE_WINDOW: DedupeWindow = { maxIds: 1000, maxAgeDays: 30 };

/** One applied action: its update id and when it was applied (workflow time, ISO). */
export interface AppliedAction {
  id: string;
  at: string;
}

const DAY_MS = 86_400_000;

/**
 * The ids to carry: those applied within maxAgeDays of nowMs, at most the maxIds most recent.
 * `entries` are in the order they were applied, oldest first, and so is the result.
 */
export function boundWindow(entries: readonly AppliedAction[], nowMs: number, bounds: DedupeWindow): AppliedAction[] {
  const oldestMs = nowMs - bounds.maxAgeDays * DAY_MS;
  const fresh = entries.filter((e) => Date.parse(e.at) >= oldestMs);
  return fresh.slice(Math.max(0, fresh.length - bounds.maxIds));
}
