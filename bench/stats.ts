/** Small statistics and timing helpers shared by the scenarios. */

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Median of any array (NaN when empty). */
export const median = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 50);

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length ? mean : Number.NaN,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until accept(probe()) or the timeout; returns the last value either way, and whether it was accepted. */
export async function waitUntil<T>(probe: () => T | Promise<T>, accept: (v: T) => boolean, timeoutMs: number, everyMs = 100): Promise<{ value: T; ok: boolean }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return { value, ok: true };
    if (Date.now() >= until) return { value, ok: false };
    await sleep(everyMs);
  }
}

/** Runs tasks with at most `limit` in flight; resolves when all are done (failures are returned, not thrown). */
export async function pool<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<Array<R | Error>> {
  const results: Array<R | Error> = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await task(items[i]!, i);
      } catch (err) {
        results[i] = err instanceof Error ? err : new Error(String(err));
      }
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * Calls send(i) for i = 0..count-1 at a fixed rate, each at its scheduled instant (catching up
 * if the event loop was late, never bursting ahead). Returns the sends' outcomes (an Error for a failed one).
 */
export async function paced<R>(ratePerSec: number, count: number, send: (i: number) => Promise<R>): Promise<Array<Promise<R | Error>>> {
  const started = performance.now();
  const sends: Array<Promise<R | Error>> = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    sends.push(send(i).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
  }
  return sends;
}

export const round = (v: number, digits = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v);
