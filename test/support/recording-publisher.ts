import type { Publisher } from '../../messaging/kafka.js';
import type { OutboundRecord } from '../../messaging/records.js';

/** An in-memory Publisher for workflow tests (integration tests use the real broker). */
export class RecordingPublisher implements Publisher {
  readonly records: OutboundRecord[] = [];
  /** Fail the next N publishes, to exercise activity retries. */
  failNext = 0;

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async publish(records: OutboundRecord[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('broker unavailable (simulated)');
    }
    this.records.push(...records);
  }

  ofType(type: string): OutboundRecord[] {
    return this.records.filter((r) => r.headers['ce_type'] === type);
  }

  data<T = Record<string, unknown>>(record: OutboundRecord): T {
    return JSON.parse(String(record.value)) as T;
  }
}
