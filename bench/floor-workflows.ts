import { condition, defineUpdate, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

/**
 * Baseline workflows: what Temporal itself costs for the shapes the engine uses, with no code of
 * ours in them. Run on their own task queue by a worker with its own bundle of this file only.
 */
export interface FloorActivities {
  /** Does nothing but tell the bench (in the same process) that it ran. */
  noop(id: string, step: string): Promise<void>;
}

const { noop } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
});

/** As many activities as the intake path runs: one for routing, one for publishing. */
export async function floorIntakeWorkflow(id: string): Promise<void> {
  await noop(id, 'route');
  await noop(id, 'publish');
}

/** One timer to an absolute instant, then one activity: the floor of an SLA rung firing. */
export async function floorTimerWorkflow(id: string, fireAtMs: number): Promise<void> {
  await sleep(Math.max(1, fireAtMs - Date.now()));
  await noop(id, 'fired');
}

export const pokeUpdate = defineUpdate<number, [number]>('poke');

/** An open workflow holding one long timer, answering a no-op update: the floor of an open referral. */
export async function floorOpenWorkflow(): Promise<void> {
  let pokes = 0;
  setHandler(pokeUpdate, (n) => {
    pokes += 1;
    return n + pokes;
  });
  await condition(() => pokes < 0, '24 hours');
}
