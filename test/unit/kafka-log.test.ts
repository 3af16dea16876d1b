import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { COORDINATOR_GRACE_MS, coordinatorGrace, createKafka } from '../../messaging/kafka.js';

/** A pino logger at debug that keeps every line it writes. */
function capture() {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

const loading = "The coordinator is loading and hence can't process requests";

describe('kafkajs log lines', () => {
  it('a coordinator still starting is retried quietly (debug), any other broker error stays an error', () => {
    const { lines, logger } = capture();
    const { kafka } = createKafka({ clientId: 't', brokers: ['127.0.0.1:1'], logger, security: { protocol: 'PLAINTEXT' } });
    kafka.logger().error('Response FindCoordinator(key: 10, version: 2)', { error: loading, correlationId: 1 });
    kafka.logger().error('Response FindCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available', correlationId: 2 });
    kafka.logger().error('Response Produce(key: 0, version: 7)', { error: 'Topic authorization failed', correlationId: 3 });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [20, 'Response FindCoordinator(key: 10, version: 2) (coordinator starting: retried)'],
      [20, 'Response FindCoordinator(key: 10, version: 2) (coordinator starting: retried)'],
      [50, 'Response Produce(key: 0, version: 7)'],
    ]);
  });

  it('past the grace the same answers are errors; a quiet spell starts a new grace', () => {
    let now = 0;
    const grace = coordinatorGrace(COORDINATOR_GRACE_MS, () => now);
    expect(grace(loading)).toBe('quiet');
    now = COORDINATOR_GRACE_MS / 2;
    expect(grace(loading)).toBe('quiet');
    now = COORDINATOR_GRACE_MS + 1_000;
    expect(grace('The group coordinator is not available')).toBe('error');
    now += COORDINATOR_GRACE_MS + 1;
    expect(grace(loading)).toBe('quiet');
    expect(grace('Topic authorization failed')).toBe('other');
    expect(grace(undefined)).toBe('other');
  });
});
