import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEngineConfig } from '../config/env.js';
import { ConfigError } from '../config/errors.js';
import { loadKafkaAccess, principalOf, senderTopics } from '../config/kafka-access.js';
import { resolveSecurityAs } from '../config/kafka-security.js';
import { createKafka, createPublisher } from '../messaging/kafka.js';
import { createLogger } from '../workers/logger.js';
import { loadPolicy } from '../config/policy.js';
import { driveToPlan, readKeys } from './demo-plan.js';
import { intakeRecord } from './intake-event.js';
import { sampleReferrals } from './samples/referrals.js';

const help = `Usage: npm run demo [-- --suffix S] [-- --keys FILE] [-- --no-plan]

Sends three sample referrals (a fraudulent overseas-job advertisement, a cross-border trafficking
case with a minor, a smuggling case), each as its detecting agency would over Kafka: as that
agency's principal (password from KAFKA_CREDENTIALS_FILE, default .stack/kafka-credentials.json),
to its own intake topic (referrals.intake.nccia, referrals.intake.fia). Then it takes the
trafficking case to an agreed reintegration plan through the HTTP API, each step by the agency
whose step it is with its development key: the lead acknowledges and screens it, SWD records a
shelter placement and agrees a plan with one task for IOM, which the partner page then shows
(sign in at /partner as 'iom-caseworker').
The ids of the run go to demo-referrals.json beside API_IDENTITIES_FILE (.stack/ by default), as
{ "jobAd", "trafficking", "smuggling" }: README's examples read them from there.
Run it while 'npm start' is running, then open the Temporal UI and the console to see them.

Options:
  --suffix S   part of the referral ids (default: the current time), so each run makes new referrals
  --keys FILE  the development API keys (default: api-keys.json beside API_IDENTITIES_FILE, or
               .stack/api-keys.json)
  --no-plan    only send the three referrals
  -h, --help   this text
Environment: KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_CA_FILE, KAFKA_CREDENTIALS_FILE,
KAFKA_TOPIC_INTAKE, TEMPORAL_UI_URL, API_HOST, API_PORT, REFERRALS_API_URL (see README).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { suffix: { type: 'string' }, keys: { type: 'string' }, 'no-plan': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
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
  // The ids of this run, for README's examples: TIP=$(node -p "require('./.stack/demo-referrals.json').trafficking").
  const idsFile = join(dirname(config.api.identitiesFile), 'demo-referrals.json');
  const byType = (t: string) => referrals.find((r) => r.facts.caseType === t)!.referralId;
  writeFileSync(idsFile, `${JSON.stringify({ jobAd: byType('FRAUDULENT_JOB_AD'), trafficking: byType('TRAFFICKING'), smuggling: byType('SMUGGLING') }, null, 2)}\n`);
  console.log(`demo: their ids are in ${idsFile}`);
  if (values['no-plan']) return;

  const trafficking = referrals.find((r) => r.facts.caseType === 'TRAFFICKING')!;
  const apiUrl = new URL(process.env['REFERRALS_API_URL'] || `http://${config.api.host}:${config.api.port}/`);
  const keysFile = values.keys ?? join(dirname(config.api.identitiesFile), 'api-keys.json');
  const task = await driveToPlan(trafficking, {
    apiUrl,
    keys: readKeys(keysFile),
    policy: await loadPolicy(config.policyFile),
    log: (m) => console.log(`demo: ${m}`),
  });
  console.log(`demo: ${task.partner} has task ${task.taskId} on ${trafficking.referralId}: ${new URL('/partner', apiUrl).href} (sign in as 'iom-caseworker')`);
}

main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
