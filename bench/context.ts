import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Policy } from '../schemas/policy.js';
import type { BenchKafka } from './kafka.js';
import type { TransportName } from './kafka.js';
import type { Figure } from './report.js';
import type { BenchTransport } from './transports.js';

/** What every scenario gets from run.ts: connections to the bench stack and where to put figures. */
export interface BenchContext {
  quick: boolean;
  temporalAddress: string;
  brokers: string;
  /** Client with the engine's data converter (payloads encrypted). */
  client: Client;
  /** Client with the default data converter, for the baseline workflows. */
  floorClient: Client;
  /** Shared by the in-process workers. */
  connection: NativeConnection;
  /** The bench's clients on the SASL_SSL listener (`transports.SASL_SSL.kafka`). */
  kafka: BenchKafka;
  /** Both client listeners of the bench broker: SASL_SSL (at `brokers`) and the dev PLAINTEXT one. */
  transports: Record<TransportName, BenchTransport>;
  policy: Policy;
  figures: Figure[];
  /** Raw numbers and settings per scenario, for the JSON file. */
  details: Record<string, unknown>;
  /** Free-form progress line. */
  log(message: string): void;
}

export interface Scenario {
  id: string;
  number: number;
  title: string;
  run(ctx: BenchContext): Promise<void>;
}
