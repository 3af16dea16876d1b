import type { Logger } from 'pino';
import { consume, type ConsumerRun, type KafkaConnection } from '../messaging/kafka.js';
import { createIntakeHandler, type IntakeDeps } from './intake.js';
import { ShutdownAbandon } from './retry.js';

export interface IntakeBridgeOptions extends IntakeDeps {
  kafka: KafkaConnection;
  groupId: string;
  logger: Logger;
}

/** Starts in flight per intake partition (three partitions: up to 48 at once, the client's pool is 32 per Temporal connection). */
export const INTAKE_RECORDS_IN_FLIGHT = 16;

/** Consumes the intake topic into Temporal; each offset is committed only after its record is done. */
export async function startIntakeBridge(options: IntakeBridgeOptions): Promise<ConsumerRun> {
  const handle = createIntakeHandler(options);
  const log = options.logger.child({ component: 'intake-bridge' });
  const topics = options.senders.intakeTopics;
  const run = await consume(options.kafka, {
    groupId: options.groupId,
    topics,
    // Each record is its own referral: starts overlap (a burst is not one round trip at a time);
    // offsets are still committed only up to the first record not yet started.
    recordsInFlight: INTAKE_RECORDS_IN_FLIGHT,
    handle: async (record, ctx) => {
      try {
        await handle(record, ctx);
      } catch (err) {
        if (!(err instanceof ShutdownAbandon)) {
          log.error({ err: { name: (err as Error).name, message: (err as Error).message }, offset: record.offset }, 'intake record failed');
        }
        throw err;
      }
    },
  });
  log.info({ topics: topics.length, groupId: options.groupId }, 'intake bridge consuming');
  return run;
}
