/**
 * Static checks of docker-compose.yml, Dockerfile and .dockerignore against the engine's own
 * configuration (config/env.ts, tsconfig.json). No Docker engine is needed or used: the stack is
 * parsed, not started.
 */
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { EngineEnv, loadEngineConfig, type Topics } from '../../config/env.js';
import { allTopics, loadKafkaAccess } from '../../config/kafka-access.js';
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
  ...AGENCIES.flatMap((a) => [`referrals.intake.${a}`, `referrals.actions.${a}`, `referrals.notify.${a}`]),
  ...PARTNER_ORGANISATIONS.flatMap((o) => [`referrals.actions.partner.${o}`, `referrals.notify.partner.${o}`]),
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
};

const REQUIRED_SERVICES = [
  'postgresql',
  'temporal',
  'temporal-admin-tools',
  'temporal-ui',
  'kafka',
  'kafka-init',
  'worker',
  'bridge',
];
const ENGINE_SERVICES = ['worker', 'bridge'] as const;

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

// ---------------------------------------------------------------- docker-compose.yml

describe('docker-compose.yml: services', () => {
  it('uses the Compose spec (no obsolete top-level version key)', () => {
    expect(compose).not.toHaveProperty('version');
  });

  it('defines every service of the stack', () => {
    expect(Object.keys(compose.services ?? {})).toEqual(expect.arrayContaining(REQUIRED_SERVICES));
  });

  it('pins every third-party image to an explicit version', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build !== undefined) continue;
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
  });

  it('postgresql: postgres 16 on a volume, health-checked with pg_isready', () => {
    expect(service('postgresql').image).toBe('postgres:16');
    const volumes = (service('postgresql').volumes ?? []).map(String);
    expect(volumes.some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    expect(healthcheckText('postgresql')).toContain('pg_isready');
  });

  it('temporal: auto-setup 1.2x on postgres12, after postgresql is healthy, with a health check', () => {
    expect(service('temporal').image).toMatch(/^temporalio\/auto-setup:1\.2\d\.\d+$/);
    expect(envVar('temporal', 'DB')).toBe('postgres12');
    expect(Object.keys(compose.services)).toContain(envVar('temporal', 'POSTGRES_SEEDS'));
    expect(envVar('temporal', 'POSTGRES_USER')).toBe(envVar('postgresql', 'POSTGRES_USER'));
    expect(envVar('temporal', 'POSTGRES_PWD')).toBe(envVar('postgresql', 'POSTGRES_PASSWORD'));
    expect(dependsOn('temporal')).toMatchObject({ postgresql: 'service_healthy' });
    expect(healthcheckText('temporal')).toMatch(/(temporal operator|tctl) cluster health/);
    expect(publishedPorts('temporal').map((p) => p.containerPort)).toContain('7233');
  });

  it('temporal-admin-tools: a pinned admin-tools image that runs once Temporal is healthy', () => {
    expect(service('temporal-admin-tools').image).toMatch(/^temporalio\/admin-tools:1\.2\d\.\d+/);
    expect(dependsOn('temporal-admin-tools')).toMatchObject({ temporal: 'service_healthy' });
    expect(service('temporal-admin-tools').restart ?? 'no').toBe('no');
  });

  it('temporal-ui: pinned UI on temporal:7233, published on the port of TEMPORAL_UI_URL', () => {
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(envVar('temporal-ui', 'TEMPORAL_ADDRESS')).toBe('temporal:7233');
    expect(envVar('temporal-ui', 'TEMPORAL_CORS_ORIGINS')).not.toBe('');
    const uiUrl = new URL(envVar('worker', 'TEMPORAL_UI_URL'));
    expect(publishedPorts('temporal-ui')).toContainEqual({
      hostIp: '127.0.0.1',
      hostPort: uiUrl.port,
      containerPort: '8080',
    });
  });

  it('kafka: apache/kafka 3.9.1 in KRaft combined mode with internal and host listeners', () => {
    expect(service('kafka').image).toBe('apache/kafka:3.9.1');
    const env = envOf('kafka');
    expect(env.KAFKA_NODE_ID).toBe('1');
    expect(env.KAFKA_PROCESS_ROLES?.split(',').sort()).toEqual(['broker', 'controller']);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka:9093');
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    const advertised = env.KAFKA_ADVERTISED_LISTENERS?.split(',') ?? [];
    expect(advertised).toEqual(expect.arrayContaining(['PLAINTEXT://kafka:9092', 'EXTERNAL://127.0.0.1:9094']));
    // Every listener (including the controller's) has a security protocol.
    const mapped = (env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((m) => m.split(':')[0]);
    const listenerNames = (env.KAFKA_LISTENERS ?? '').split(',').map((l) => l.split(':')[0]);
    expect(listenerNames).toEqual(expect.arrayContaining(['PLAINTEXT', 'CONTROLLER', 'EXTERNAL']));
    for (const l of listenerNames) expect(mapped, `listener ${l}`).toContain(l);
    expect(env.KAFKA_CONTROLLER_LISTENER_NAMES).toBe('CONTROLLER');
    expect(publishedPorts('kafka')).toContainEqual({ hostIp: '127.0.0.1', hostPort: '9094', containerPort: '9094' });
    expect(healthcheckText('kafka')).toMatch(/\/opt\/kafka\/bin\/kafka-/);
  });

  it('kafka-init: the kafka image, once kafka is healthy, creating topics idempotently', () => {
    expect(service('kafka-init').image).toBe(service('kafka').image);
    expect(dependsOn('kafka-init')).toMatchObject({ kafka: 'service_healthy' });
    const sh = script('kafka-init');
    expect(sh).toContain('/opt/kafka/bin/kafka-topics.sh');
    expect(sh).toMatch(/--create\s+--if-not-exists/);
    expect(sh).toContain('$$TOPICS');
    expect(sh).toContain('--partitions "$$PARTITIONS"');
    expect(envVar('kafka-init', 'PARTITIONS')).toBe('3');
    expect(envVar('kafka-init', 'BOOTSTRAP')).toBe('kafka:9092');
    expect(service('kafka-init').restart ?? 'no').toBe('no');
  });

  it('escapes every $ in one-shot scripts so Compose does not interpolate them', () => {
    for (const name of ['kafka-init', 'temporal-admin-tools']) {
      const loneDollar = script(name).replaceAll('$$', '').indexOf('$');
      expect(loneDollar, `${name}: unescaped $ in command`).toBe(-1);
    }
  });
});

describe('docker-compose.yml: Kafka topics', () => {
  const topics = (): string[] => words(envVar('kafka-init', 'TOPICS'));

  it('creates exactly the stack topics, each once: per-sender intake, actions and notification topics, no shared ones', () => {
    expect(new Set(topics()).size).toBe(topics().length);
    expect(sorted(topics())).toEqual(sorted(EXPECTED_TOPICS));
    for (const shared of ['referrals.intake', 'referrals.actions', 'referrals.notify.partners']) expect(topics()).not.toContain(shared);
  });

  it('creates exactly the topics derived from the config defaults in EngineEnv', () => {
    const defaults = loadEngineConfig({}).kafka.topics;
    expect(defaults.intake).toBe(EngineEnv.shape.KAFKA_TOPIC_INTAKE.parse(undefined));
    expect(sorted(topics())).toEqual(sorted(topicsOf(defaults)));
  });

  it('creates every topic the worker and bridge use with their compose environment', () => {
    for (const name of ENGINE_SERVICES) {
      const used = topicsOf(loadEngineConfig(envOf(name)).kafka.topics);
      expect(topics(), name).toEqual(expect.arrayContaining(used));
    }
  });
});

describe('docker-compose.yml: Temporal search attributes', () => {
  it('registers exactly the engine search attributes, with their types', () => {
    const pairs = words(envVar('temporal-admin-tools', 'SEARCH_ATTRIBUTES'));
    for (const pair of pairs) expect(pair).toMatch(/^[A-Za-z][A-Za-z0-9_]*=[A-Za-z]+$/);
    const registered = pairs.map((pair) => pair.split('=') as [string, string]);
    expect(new Set(registered.map(([n]) => n)).size).toBe(registered.length);
    expect(Object.fromEntries(registered)).toEqual(EXPECTED_SEARCH_ATTRIBUTES);
  });

  it('registers exactly the keys the workflows upsert (workflows/search-attributes.ts)', () => {
    // The SDK spells types KEYWORD/BOOL/DATETIME; the CLI takes Keyword/Bool/Datetime.
    const cliType = (t: string): string => t.split('_').map((w) => w.charAt(0) + w.slice(1).toLowerCase()).join('');
    const fromCode = Object.fromEntries(searchAttributeDefinitions.map((k) => [k.name, cliType(k.type)]));
    const pairs = words(envVar('temporal-admin-tools', 'SEARCH_ATTRIBUTES')).map((p) => p.split('='));
    expect(Object.fromEntries(pairs)).toEqual(fromCode);
  });

  it('registers them with `temporal operator search-attribute create`, ignoring "already exists"', () => {
    const sh = script('temporal-admin-tools');
    expect(sh).toContain('$$SEARCH_ATTRIBUTES');
    expect(sh).toMatch(
      /temporal operator search-attribute create --namespace "\$\$NAMESPACE" --name "\$\$name" --type "\$\$type"/,
    );
    expect(sh).toContain('already exists');
  });

  it('registers them in namespace default, the one the engine services use', () => {
    expect(envVar('temporal-admin-tools', 'NAMESPACE')).toBe('default');
    for (const name of ENGINE_SERVICES) {
      expect(loadEngineConfig(envOf(name)).temporal.namespace, name).toBe('default');
    }
    expect(envVar('temporal-admin-tools', 'TEMPORAL_ADDRESS')).toBe('temporal:7233');
  });
});

describe('docker-compose.yml: engine services (worker, bridge)', () => {
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

  it('runs a different role in each service, covering worker and bridge', () => {
    const worker = loadEngineConfig(envOf('worker')).roles;
    const bridge = loadEngineConfig(envOf('bridge')).roles;
    expect(envVar('worker', 'ENGINE_ROLES')).not.toBe(envVar('bridge', 'ENGINE_ROLES'));
    expect(worker).toEqual(['worker']);
    expect(bridge).toEqual(['bridge']);
  });

  it('reaches Temporal and Kafka by their compose service names', () => {
    const kafkaAdvertised = envVar('kafka', 'KAFKA_ADVERTISED_LISTENERS');
    for (const name of ENGINE_SERVICES) {
      const cfg = loadEngineConfig(envOf(name));
      expect(cfg.temporal.address, name).toBe('temporal:7233');
      expect(cfg.kafka.brokers, name).toEqual(['kafka:9092']);
      for (const broker of cfg.kafka.brokers) {
        expect(Object.keys(compose.services)).toContain(hostPort(broker).host);
        expect(kafkaAdvertised).toContain(`PLAINTEXT://${broker}`);
      }
    }
  });

  it('builds both from the Dockerfile into the same image and restarts them unless stopped', () => {
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

  it('starts only after Temporal is healthy, attributes are registered and topics exist', () => {
    for (const name of ENGINE_SERVICES) {
      expect(dependsOn(name), name).toMatchObject({
        temporal: 'service_healthy',
        'temporal-admin-tools': 'service_completed_successfully',
        'kafka-init': 'service_completed_successfully',
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
