import type { RecordContext } from '../messaging/kafka.js';

/** The bridge is stopping: the record is abandoned uncommitted and is delivered again later. */
export class ShutdownAbandon extends Error {
  override readonly name = 'ShutdownAbandon';
  readonly code = 'SHUTDOWN';
}

export interface RetryOptions {
  ctx: RecordContext;
  initialDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (err: Error, attempt: number, delayMs: number) => void;
}

/**
 * Retries an operation that failed for a passing reason (Temporal or Kafka unavailable) with
 * exponential backoff, keeping the consumer's group membership alive, until it succeeds or the
 * process stops. Only this partition waits; others go on.
 */
export async function retryTransient<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 15_000;
  for (let attempt = 1; ; attempt++) {
    if (options.ctx.isStopping()) throw new ShutdownAbandon('stopping: record left uncommitted');
    try {
      return await operation();
    } catch (err) {
      const delayMs = Math.min(max, initial * 2 ** (attempt - 1));
      options.onRetry?.(err as Error, attempt, delayMs);
      await sleepWithHeartbeat(delayMs, options.ctx);
    }
  }
}

async function sleepWithHeartbeat(ms: number, ctx: RecordContext): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !ctx.isStopping()) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, until - Date.now())));
    await ctx.heartbeat().catch(() => undefined);
  }
}
