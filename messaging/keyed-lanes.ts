/**
 * Handles one fetched batch of a partition with several records in flight, yet keeps what
 * consumers rely on: records with the same key (a referral's events) are handled one after
 * another in offset order, and the position reported through `onDone` only ever covers a
 * contiguous run of finished records, so a committed offset never skips an unfinished one.
 * Free of kafkajs: messaging/kafka.ts feeds it.
 */
export interface LaneRecord {
  offset: string;
  key: Buffer | null;
}

export interface KeyedLanesOptions<R extends LaneRecord> {
  records: readonly R[];
  /** Records handled at once; 1 handles the batch strictly in order. */
  inFlight: number;
  handle(record: R): Promise<void>;
  /** The offset to read next (last finished record of the contiguous run + 1), each time it moves. */
  onDone(nextOffset: string): void;
  /** False once the consumer stops or the batch went stale: no further record is started. */
  mayStart(): boolean;
}

/** Records without a key share one lane: nothing says they are unrelated. */
const NO_KEY = '\u0000no-key';

/**
 * Resolves once every started record finished. Throws the first handler error after the records
 * already running settle; records after a failed one in its lane are not started, and nothing
 * past the failed record is reported done (they are delivered again).
 */
export async function runInKeyedLanes<R extends LaneRecord>(options: KeyedLanesOptions<R>): Promise<void> {
  const { records } = options;
  const inFlight = Math.max(1, Math.floor(options.inFlight));
  const done: boolean[] = records.map(() => false);
  let firstUndone = 0;
  let failure: { error: unknown } | undefined;
  const laneTails = new Map<string, Promise<void>>();
  const running = new Set<Promise<void>>();

  const finish = (index: number) => {
    done[index] = true;
    const before = firstUndone;
    while (firstUndone < records.length && done[firstUndone]) firstUndone++;
    if (firstUndone > before) options.onDone((BigInt(records[firstUndone - 1]!.offset) + 1n).toString());
  };

  for (let i = 0; i < records.length; i++) {
    while (running.size >= inFlight) await Promise.race(running);
    if (failure || !options.mayStart()) break;
    const record = records[i]!;
    const lane = record.key ? record.key.toString('latin1') : NO_KEY;
    const before = laneTails.get(lane);
    const task = (async () => {
      if (before) await before;
      // A failure or a stop while it waited in its lane: leave it for redelivery.
      if (failure || !options.mayStart()) return;
      try {
        await options.handle(record);
      } catch (error) {
        failure ??= { error };
        return;
      }
      finish(i);
    })();
    laneTails.set(lane, task);
    running.add(task);
    void task.then(() => running.delete(task));
  }
  await Promise.all(running);
  if (failure) throw failure.error;
}
