import { parseArgs } from 'node:util';
import { loadEngineConfig } from '../config/env.js';
import { ConfigError } from '../config/errors.js';
import { loadKafkaAccess, principalOf, senderTopics } from '../config/kafka-access.js';
import { resolveSecurityAs } from '../config/kafka-security.js';
import { createKafka, createPublisher } from '../messaging/kafka.js';
import { createLogger } from '../workers/logger.js';
import { intakeRecord } from './intake-event.js';
import { sampleReferrals } from './samples/referrals.js';

const help = `Usage: npm run demo [-- --suffix S]

Sends three sample referrals (a fraudulent overseas-job advertisement, a cross-border trafficking
case with a minor, a smuggling case), each as its detecting agency would over Kafka: as that
agency's principal (password from KAFKA_CREDENTIALS_FILE, default .stack/kafka-credentials.json),
to its own intake topic (referrals.intake.nccia, referrals.intake.fia).
Run it while 'npm start' is running, then open the Temporal UI to see them.

Options:
  --suffix S   part of the referral ids (default: the current time), so each run makes new referrals
  -h, --help   this text
Environment: KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_CA_FILE, KAFKA_CREDENTIALS_FILE,
KAFKA_TOPIC_INTAKE, TEMPORAL_UI_URL (see README).`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { suffix: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(help);
    return;
  }
  const suffix = values.suffix ?? new Date().toISOString().replace(/[-:T.Z]/g, '').slice(0, 14);
  const config = loadEngineConfig();
  const logger = createLogger({ level: 'warn' });
  const access = loadKafkaAccess(config.kafka.accessFile);
  const referrals = sampleReferrals(suffix);
  // Each referral is sent by its detecting agency, as that agency's principal, to its own intake topic.
  for (const agency of [...new Set(referrals.map((r) => r.sourceAgency))]) {
    const sender = { kind: 'agency', agency } as const;
    const security = resolveSecurityAs(config.kafka.security, access, principalOf(sender));
    const publisher = createPublisher(createKafka({ brokers: config.kafka.brokers, clientId: `referral-demo-${agency.toLowerCase()}`, logger, security }));
    const topic = senderTopics(config.kafka.topics, sender).intake!;
    await publisher.publish(referrals.filter((r) => r.sourceAgency === agency).map((r) => intakeRecord(topic, r, `urn:agency:${agency.toLowerCase()}`)));
    await publisher.disconnect();
  }
  for (const r of referrals) console.log(`demo: sent ${r.referralId} (${r.facts.caseType}, ${r.facts.location.district})`);
  console.log(`demo: see them at ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`);
}

main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
