import type { Logger } from 'pino';
import { consume, type ConsumerRun, type KafkaConnection } from '../messaging/kafka.js';
import { createIntakeHandler, type IntakeDeps } from './intake.js';
import { ShutdownAbandon } from './retry.js';

export interface IntakeBridgeOptions extends IntakeDeps {
  kafka: KafkaConnection;
  groupId: string;
  intakeTopic: string;
  logger: Logger;
}

/** Consumes the intake topic into Temporal; each offset is committed only after its record is done. */
export async function startIntakeBridge(options: IntakeBridgeOptions): Promise<ConsumerRun> {
  const handle = createIntakeHandler(options);
  const log = options.logger.child({ component: 'intake-bridge' });
  const run = await consume(options.kafka, {
    groupId: options.groupId,
    topics: [options.intakeTopic],
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
  log.info({ topic: options.intakeTopic, groupId: options.groupId }, 'intake bridge consuming');
  return run;
}
