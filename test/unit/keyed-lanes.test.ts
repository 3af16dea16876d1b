/**
 * messaging/keyed-lanes.ts: records of one partition handled several at a time, a key's records
 * in order, and the reported position never past a record that is not done.
 */
import { describe, expect, it } from 'vitest';
import { runInKeyedLanes, type LaneRecord } from '../../messaging/keyed-lanes.js';

const record = (offset: number, key: string | null): LaneRecord => ({ offset: String(offset), key: key === null ? null : Buffer.from(key) });
const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

/** A handler whose records finish when the test says so. */
function gated() {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const finished: string[] = [];
  let active = 0;
  let maxActive = 0;
  return {
    started,
    finished,
    get maxActive() {
      return maxActive;
    },
    handle: async (r: LaneRecord) => {
      started.push(r.offset);
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((resolve) => gates.set(r.offset, resolve));
      active--;
      finished.push(r.offset);
    },
    async release(offset: number) {
      for (let i = 0; i < 50 && !gates.has(String(offset)); i++) await tick();
      const gate = gates.get(String(offset));
      if (!gate) throw new Error(`record ${offset} never started`);
      gate();
      await tick();
    },
  };
}

describe('runInKeyedLanes', () => {
  it('overlaps records of different keys up to inFlight, and runs a key one record at a time in order', async () => {
    const h = gated();
    const records = [record(0, 'a'), record(1, 'b'), record(2, 'a'), record(3, 'c'), record(4, 'd')];
    const run = runInKeyedLanes({ records, inFlight: 3, handle: h.handle, onDone: () => undefined, mayStart: () => true });
    await tick(5);
    // 0 (a), 1 (b) and 2 (a, waiting behind 0) hold the three places; 2 has not started.
    expect(h.started).toEqual(['0', '1']);
    await h.release(0);
    expect(h.started).toContain('2');
    await h.release(1);
    await h.release(2);
    await h.release(3);
    await h.release(4);
    await run;
    expect(h.finished.indexOf('0')).toBeLessThan(h.finished.indexOf('2'));
    expect(h.maxActive).toBeGreaterThan(1);
    expect(h.maxActive).toBeLessThanOrEqual(3);
  });

  it('reports a position only past a contiguous run of finished records', async () => {
    const h = gated();
    const reported: string[] = [];
    const records = [record(10, 'a'), record(11, 'b'), record(12, 'c')];
    const run = runInKeyedLanes({ records, inFlight: 3, handle: h.handle, onDone: (o) => reported.push(o), mayStart: () => true });
    await h.release(11);
    await h.release(12);
    expect(reported).toEqual([]); // 10 is still running: committing 12 would skip it
    await h.release(10);
    await run;
    expect(reported).toEqual(['13']);
  });

  it('stops at a failure: throws it, reports nothing past it, and does not run the failed key again', async () => {
    const handled: string[] = [];
    const reported: string[] = [];
    const records = [record(0, 'a'), record(1, 'b'), record(2, 'b'), record(3, 'c')];
    const run = runInKeyedLanes({
      records,
      inFlight: 2,
      handle: async (r) => {
        await tick(r.offset === '0' ? 5 : 1);
        if (r.offset === '1') throw new Error('Temporal is down');
        handled.push(r.offset);
      },
      onDone: (o) => reported.push(o),
      mayStart: () => true,
    });
    await expect(run).rejects.toThrow('Temporal is down');
    expect(handled).not.toContain('2'); // behind the failed record in its lane
    expect(reported.every((o) => BigInt(o) <= 1n)).toBe(true);
    expect(reported).toEqual(['1']); // record 0 finished: the position may move to the failed record, not past it
  });

  it('handles keyless records one at a time and strictly in order with inFlight 1', async () => {
    for (const [inFlight, keyOf] of [
      [4, () => null],
      [1, (i: number) => `k${i}`],
    ] as const) {
      const order: string[] = [];
      let active = 0;
      let maxActive = 0;
      await runInKeyedLanes({
        records: [0, 1, 2, 3].map((i) => record(i, keyOf(i))),
        inFlight,
        handle: async (r) => {
          active++;
          maxActive = Math.max(maxActive, active);
          await tick(3 - Number(r.offset));
          order.push(r.offset);
          active--;
        },
        onDone: () => undefined,
        mayStart: () => true,
      });
      expect(order).toEqual(['0', '1', '2', '3']);
      expect(maxActive).toBe(1);
    }
  });

  it('starts nothing more once it may not', async () => {
    let allowed = true;
    const handled: string[] = [];
    const reported: string[] = [];
    await runInKeyedLanes({
      records: [0, 1, 2, 3].map((i) => record(i, `k${i}`)),
      inFlight: 1,
      handle: async (r) => {
        handled.push(r.offset);
        if (r.offset === '1') allowed = false;
      },
      onDone: (o) => reported.push(o),
      mayStart: () => allowed,
    });
    expect(handled).toEqual(['0', '1']);
    expect(reported.at(-1)).toBe('2');
  });
});
