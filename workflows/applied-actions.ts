import { currentUpdateInfo } from '@temporalio/workflow';
import type { Policy } from '../schemas/policy.js';
import { boundWindow, DEFAULT_DEDUPE_WINDOW, type AppliedAction, type DedupeWindow } from './dedupe-window.js';

/**
 * Both tracks carry the window of applied action ids across continue-as-new from this version on;
 * runs that started before it replay without (no check, nothing carried).
 */
export const ACTION_DEDUPE_WINDOW_PATCH = 'track-action-ids-carried-across-continue-as-new';

/**
 * The action (update) ids a track has applied, this run and the runs before it, as far as the
 * window carried across continue-as-new reaches. Temporal answers a repeated update id itself
 * within a run; across runs only this window knows it.
 *
 * A replay is answered as the first delivery was, successfully, with nothing applied: its
 * validator accepts it before any other check (the state may have moved on since), and its handler
 * returns the current state without recording anything.
 */
export class AppliedActions {
  private readonly entries: AppliedAction[];
  private readonly ids: Set<string>;

  /** `enabled` is the patch: runs that started before it neither check nor carry the window. */
  constructor(
    private readonly enabled: boolean,
    carried: readonly AppliedAction[] | undefined,
    private readonly bounds: DedupeWindow,
  ) {
    this.entries = enabled && carried ? [...carried] : [];
    this.ids = new Set(this.entries.map((e) => e.id));
  }

  /** For validators: the update being validated was applied before (no state is changed). */
  isReplay(): boolean {
    const id = this.currentId();
    return id !== undefined && this.ids.has(id);
  }

  /**
   * For handlers: true when the update takes effect, and its id is recorded; false for a replay,
   * which the handler answers without effect.
   */
  firstDelivery(): boolean {
    const id = this.currentId();
    if (id === undefined) return true;
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.entries.push({ id, at: new Date().toISOString() });
    return true;
  }

  /** What continue-as-new carries: undefined before the patch, so those runs' inputs stay as they were. */
  carry(): AppliedAction[] | undefined {
    return this.enabled ? boundWindow(this.entries, Date.now(), this.bounds) : undefined;
  }

  private currentId(): string | undefined {
    return this.enabled ? currentUpdateInfo()?.id : undefined;
  }
}

/** The policy's bounds; policies given to tracks before the field existed have none. */
export function dedupeWindowOf(policy: Policy): DedupeWindow {
  return (policy as Partial<Pick<Policy, 'actions'>>).actions?.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW;
}
