/** A Kafka record as the engine sees it: our own shape, so kafkajs stays inside messaging/kafka.ts. */
export interface InboundRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface OutboundRecord {
  topic: string;
  key: string | null;
  value: string | Buffer | null;
  headers: Record<string, string>;
}
