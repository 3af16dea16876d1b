import type { Client } from '@temporalio/client';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { consume, type AdminOps, type ConsumerRun, type KafkaConnection } from '../messaging/kafka.js';
import type { InboundRecord } from '../messaging/records.js';
import type { ApiApp } from './server.js';

/**
 * Prometheus metrics of the engine as operators need them: referrals by stage, SLA reminders,
 * breaches and escalations by agency, dead letters, the bridges' consumer lag, API denials.
 * Stage counts come from Temporal visibility at scrape time; event counts from the Kafka topics
 * the engine writes (so they count what agencies actually received).
 */
export interface EngineMetrics {
  registry: Registry;
  accessDenied: Counter<'route'>;
  /** Counts one record from the notification, events or dead-letter topics. */
  observe(record: InboundRecord): void;
}

const STAGES = ['ROUTING', 'ROUTED', 'UNROUTED', 'SCREENING', 'IN_PROGRESS', 'CLOSED'];

export function createEngineMetrics(options: {
  client: Client;
  admin?: () => Promise<AdminOps>;
  lagGroups: Array<{ groupId: string; topic: string }>;
  deadLetterTopic: string;
}): EngineMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'referral_engine_' });
  new Gauge({
    name: 'referral_engine_referrals',
    help: 'Open referrals by stage (Temporal visibility)',
    labelNames: ['stage'],
    registers: [registry],
    async collect() {
      const counts = await Promise.all(
        STAGES.map(async (stage) => {
          const r = await options.client.workflow.count(`WorkflowType = 'referralWorkflow' AND ReferralStage = '${stage}'`);
          return [stage, r.count] as const;
        }),
      );
      for (const [stage, count] of counts) this.set({ stage }, count);
    },
  });
  const sla = new Counter({
    name: 'referral_engine_sla_notifications_total',
    help: 'SLA reminders, breaches and escalations sent, by kind, step and recipient agency',
    labelNames: ['kind', 'step', 'agency'],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'referral_engine_dead_letters_total',
    help: 'Messages dead-lettered, by source topic and reason',
    labelNames: ['source_topic', 'reason'],
    registers: [registry],
  });
  const accessDenied = new Counter({ name: 'referral_engine_api_access_denied_total', help: 'API requests denied (403)', labelNames: ['route'], registers: [registry] });
  if (options.admin) {
    const admin = options.admin;
    new Gauge({
      name: 'referral_engine_consumer_lag',
      help: 'Messages a bridge consumer group has not committed yet, by topic and partition',
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
      async collect() {
        const ops = await admin();
        for (const { groupId, topic } of options.lagGroups) {
          for (const p of await ops.consumerLag(groupId, topic)) this.set({ group: groupId, topic, partition: String(p.partition) }, p.lag);
        }
      },
    });
  }
  return {
    registry,
    accessDenied,
    observe(record) {
      const type = record.headers['ce_type'];
      if (record.topic === options.deadLetterTopic) {
        deadLetters.inc({ source_topic: record.headers['dlq-source-topic'] ?? 'unknown', reason: record.headers['dlq-reason'] ?? 'unknown' });
        return;
      }
      if (type === 'referral.sla.v1' && record.value) {
        try {
          const data = JSON.parse(record.value.toString('utf8')) as { kind?: string; step?: string; recipient?: string };
          sla.inc({ kind: data.kind ?? 'unknown', step: data.step ?? 'unknown', agency: data.recipient ?? 'unknown' });
        } catch {
          // not ours to judge: a malformed record on a notification topic is only not counted
        }
      }
    },
  };
}

/** Feeds the metrics from the notification and dead-letter topics, from now on (each one named: the broker lets this principal see only those) and the dead letters. */
export function watchTopics(kafka: KafkaConnection, notifyTopics: string[], deadLetterTopic: string, metrics: EngineMetrics, groupId: string): Promise<ConsumerRun> {
  return consume(kafka, { groupId, topics: [...notifyTopics, deadLetterTopic], fromBeginning: false, handle: async (record) => metrics.observe(record) });
}

export function registerMetricsRoute(app: ApiApp, metrics: EngineMetrics, logger: Logger): void {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    try {
      const body = await metrics.registry.metrics();
      return reply.header('content-type', metrics.registry.contentType).send(body);
    } catch (err) {
      logger.warn({ err: { message: (err as Error).message } }, 'metrics collection failed');
      return reply.status(503).send('# metrics unavailable\n');
    }
  });
}

