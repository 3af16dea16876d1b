/**
 * Kafka admin for scripts/stack.sh: `node --import tsx scripts/kafka-admin.ts <command> [options]`.
 *
 *   credentials --file F [--reserved a,b] [--principals-out P]
 *       the development passwords of every principal of config/kafka-access.json (and of the
 *       reserved internal names): generated once, kept, written mode 600; P lists `name kind digest`
 *   ready      [connection]          a real metadata request, authenticated as the admin principal
 *   provision  [connection] [--topics extra,...] [--shared 0|1] [--partitions N] [--replication-factor N]
 *       creates the missing topics (allTopics of the access table, the shared ones when asked,
 *       the extra ones), then makes the broker's ALLOW rows of known principals equal the table
 *   acls       [connection] [--no-broker] [--shared 0|1] [--super-users a,b]
 *       prints the table grouped by principal, then whether the broker holds exactly it
 *
 * connection: --brokers H:P --ca-file F --credentials-file F [--user NAME] [--timeout-ms N]
 * (the user defaults to the admin principal of the access table; KAFKA_ACCESS_FILE names
 * another table). No password is ever printed. Exit codes: 0 ok, 1 failure or a difference,
 * 2 usage error, 3 (acls) broker not reachable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import kafkajs, { type Admin, type AclEntry, type Kafka as KafkaClient } from 'kafkajs';
import {
  aclTable,
  allPrincipalNames,
  allTopics,
  brokerAgencies,
  agencyPrincipal,
  loadKafkaAccess,
  partnerPrincipal,
  type AccessGroups,
  type AccessTopics,
  type AclRow,
  type KafkaAccessFile,
} from '../config/kafka-access.js';

// kafkajs is CommonJS: its enums are properties of the module object.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, ResourcePatternTypes, logLevel } = kafkajs;

const stackTopics: AccessTopics = {
  intake: 'referrals.intake',
  actions: 'referrals.actions',
  deadLetter: 'referrals.dead-letter',
  events: 'referrals.events',
  notifyPrefix: 'referrals.notify.',
  audit: 'referrals.audit',
};
const stackGroups: AccessGroups = {
  intake: 'referral-engine-intake',
  actions: 'referral-engine-actions',
  redrive: 'referral-engine-redrive',
};

const PASSWORD = /^[A-Za-z0-9._~-]{16,128}$/;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

class UsageError extends Error {}

function fail(message: string, code = 1): never {
  process.stderr.write(`kafka-admin: ${message}\n`);
  process.exit(code);
}

const list = (s: string | undefined): string[] =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got '${value}'`);
  return n;
}

function flag01(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new UsageError(`--${name} must be 0 or 1, got '${value}'`);
}

function access(): KafkaAccessFile {
  const file = process.env['KAFKA_ACCESS_FILE'];
  return file ? loadKafkaAccess(file) : loadKafkaAccess();
}

// ---- credentials -----------------------------------------------------------------------

function principalKinds(a: KafkaAccessFile): Array<{ name: string; kind: string }> {
  const engineRole = new Map(Object.entries(a.engine).map(([role, name]) => [name, `engine-${role}`]));
  return allPrincipalNames(a).map((name) => {
    if (name === a.admin) return { name, kind: 'admin' };
    if (a.operators.includes(name)) return { name, kind: 'operator' };
    const role = engineRole.get(name);
    if (role) return { name, kind: role };
    if (a.partners.some((p) => partnerPrincipal(p) === name)) return { name, kind: 'partner' };
    return { name, kind: 'agency' };
  });
}

function readJsonObject(file: string): Record<string, unknown> {
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file} is not a JSON object`);
  return raw as Record<string, unknown>;
}

function writePrivate(file: string, content: string): void {
  const tmp = `${file}.tmp.${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

function credentials(file: string, reserved: string[], principalsOut: string | undefined): void {
  const a = access();
  const principals = principalKinds(a);
  const clash = reserved.find((r) => principals.some((p) => p.name === r));
  if (clash) throw new Error(`the reserved name "${clash}" is also a principal of the access table`);
  const existing = existsSync(file) ? readJsonObject(file) : {};
  const out: Record<string, string> = {};
  let added = 0;
  for (const name of [...principals.map((p) => p.name), ...reserved]) {
    const have = existing[name];
    if (typeof have === 'string' && PASSWORD.test(have)) {
      out[name] = have;
    } else {
      if (have !== undefined) process.stderr.write(`kafka-admin: the password of "${name}" in ${file} is not usable (16-128 of A-Z a-z 0-9 . _ ~ -): a new one is generated\n`);
      out[name] = randomBytes(24).toString('hex');
      added += 1;
    }
  }
  // Names no longer in the table keep their entry: nothing on the broker uses them any more.
  for (const [name, value] of Object.entries(existing)) if (!(name in out) && typeof value === 'string') out[name] = value;
  const content = `${JSON.stringify(out, null, 2)}\n`;
  if (added > 0 || !existsSync(file) || readFileSync(file, 'utf8') !== content) writePrivate(file, content);
  else if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  if (principalsOut) {
    // `name kind digest`: the digest (16 hex of sha256 of "name:password") tells scripts/stack.sh
    // whose password changed since the broker got it, without the password.
    const digest = (name: string) => createHash('sha256').update(`${name}:${out[name]}`).digest('hex').slice(0, 16);
    const rows = [...principals, ...reserved.map((name) => ({ name, kind: 'reserved' }))];
    writeFileSync(principalsOut, rows.map((p) => `${p.name} ${p.kind} ${digest(p.name)}\n`).join(''));
  }
  const total = principals.length + reserved.length;
  process.stdout.write(`credentials: ${total} passwords (${added === 0 ? 'none new' : `${added} new`}) in ${file} (mode 600)\n`);
}

// ---- connection ------------------------------------------------------------------------

interface Connection {
  brokers: string[];
  caFile: string;
  credentialsFile: string;
  user: string;
}

function connectionOf(values: Record<string, string | boolean | undefined>, a: KafkaAccessFile): Connection {
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const brokers = list(str('brokers') ?? process.env['KAFKA_BROKERS'] ?? `127.0.0.1:${process.env['KAFKA_PORT'] ?? '9092'}`);
  const caFile = str('ca-file');
  const credentialsFile = str('credentials-file');
  if (brokers.length === 0) throw new UsageError('no brokers given');
  if (!caFile) throw new UsageError('--ca-file is required');
  if (!credentialsFile) throw new UsageError('--credentials-file is required');
  return { brokers, caFile, credentialsFile, user: str('user') ?? a.admin };
}

function client(c: Connection, requestTimeout: number): KafkaClient {
  if (!existsSync(c.caFile)) throw new Error(`${c.caFile} is missing (the stack's CA: 'up' makes it)`);
  const password = readJsonObject(c.credentialsFile)[c.user];
  if (typeof password !== 'string') throw new Error(`${c.credentialsFile} has no password for "${c.user}"`);
  return new Kafka({
    clientId: 'referral-engine-stack',
    brokers: c.brokers,
    ssl: { ca: [readFileSync(c.caFile, 'utf8')], rejectUnauthorized: true },
    sasl: { mechanism: 'scram-sha-512', username: c.user, password },
    connectionTimeout: 3000,
    authenticationTimeout: 5000,
    requestTimeout,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects an admin client and runs fn(admin), retrying until the deadline. */
async function withAdmin<T>(c: Connection, deadline: number, fn: (admin: Admin) => Promise<T>): Promise<T> {
  let lastError: Error = new Error('no attempt made');
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw lastError;
    const admin = client(c, Math.max(1000, Math.min(remaining, 10000))).admin();
    try {
      await admin.connect();
      return await fn(admin);
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() + 250 >= deadline) throw lastError;
    await sleep(250);
  }
}

async function ready(c: Connection, timeoutMs: number): Promise<void> {
  const cluster = await withAdmin(c, Date.now() + timeoutMs, async (admin) => {
    const d = await admin.describeCluster();
    if (d.brokers.length === 0) throw new Error('metadata lists no live broker yet');
    return d;
  });
  process.stdout.write(`ready: cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), authenticated as ${c.user}\n`);
}

// ---- topics and ACL rows ---------------------------------------------------------------

/**
 * The single shared topics, for a deployment whose integrations all trust each other
 * (KAFKA_SHARED_TOPICS=1): every agency may write both, a partner organisation the actions
 * topic (the table gives partners no intake topic), and the engine's principals get on them
 * what they have on the per-sender topics.
 */
function sharedTopicRows(a: KafkaAccessFile, topics: AccessTopics): AclRow[] {
  const rows: AclRow[] = [];
  const topic = (principal: string, resourceName: string, operation: AclRow['operation']) =>
    rows.push({ principal, resourceType: 'TOPIC', patternType: 'LITERAL', resourceName, operation });
  for (const agency of brokerAgencies) {
    topic(agencyPrincipal(agency), topics.intake, 'WRITE');
    topic(agencyPrincipal(agency), topics.actions, 'WRITE');
  }
  for (const org of a.partners) topic(partnerPrincipal(org), topics.actions, 'WRITE');
  topic(a.engine.intake, topics.intake, 'READ');
  topic(a.engine.actions, topics.actions, 'READ');
  topic(a.engine.monitor, topics.intake, 'DESCRIBE');
  topic(a.engine.monitor, topics.actions, 'DESCRIBE');
  topic(a.engine.redrive, topics.intake, 'WRITE');
  topic(a.engine.redrive, topics.actions, 'WRITE');
  return rows;
}

function wantedRows(a: KafkaAccessFile, shared: boolean): AclRow[] {
  return [...aclTable(a, stackTopics, stackGroups), ...(shared ? sharedTopicRows(a, stackTopics) : [])];
}

function wantedTopics(a: KafkaAccessFile, shared: boolean, extra: string[]): string[] {
  const topics = [...allTopics(a, stackTopics), ...(shared ? [stackTopics.intake, stackTopics.actions] : []), ...extra];
  for (const t of topics) if (!TOPIC_NAME.test(t) || t === '.' || t === '..') throw new UsageError(`'${t}' is not a valid topic name`);
  return [...new Set(topics)];
}

async function topicsWithoutLeader(admin: Admin, topics: string[]): Promise<string[]> {
  try {
    const meta = await admin.fetchTopicMetadata({ topics });
    return meta.topics.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader === undefined || p.leader < 0)).map((t) => t.name);
  } catch (err) {
    // Just created: the metadata may not list every topic yet.
    if ((err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION' || (err as { type?: string }).type === 'LEADER_NOT_AVAILABLE') return ['(metadata not complete yet)'];
    throw err;
  }
}

async function createTopics(admin: Admin, topics: string[], numPartitions: number, replicationFactor: number, timeoutMs: number): Promise<string> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions, replicationFactor })),
      waitForLeaders: false,
      timeout: Math.max(5000, timeoutMs),
    });
  }
  // Every partition of every topic has a leader (polled: faster than kafkajs' own backoff).
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leaderless = await topicsWithoutLeader(admin, topics);
    if (leaderless.length === 0) break;
    if (Date.now() >= deadline) throw new Error(`no leader yet for ${leaderless.join(', ')}`);
    await sleep(100);
  }
  const wanted = new Set(topics);
  const others = [...existing].filter((t) => !wanted.has(t) && !t.startsWith('__'));
  return (
    `topics: ${missing.length} created, ${topics.length - missing.length} already present` +
    (others.length > 0 ? `; ${others.length} other topic(s) on the broker, not in the table (left as they are): ${others.sort().join(', ')}` : '')
  );
}

const RESOURCE = { TOPIC: AclResourceTypes.TOPIC, GROUP: AclResourceTypes.GROUP } as const;
const PATTERN = { LITERAL: ResourcePatternTypes.LITERAL, PREFIXED: ResourcePatternTypes.PREFIXED } as const;
const OPERATION = { READ: AclOperationTypes.READ, WRITE: AclOperationTypes.WRITE, DESCRIBE: AclOperationTypes.DESCRIBE } as const;
const nameOf = <T extends Record<string, number>>(map: T, value: number): keyof T | undefined =>
  (Object.keys(map) as Array<keyof T>).find((k) => map[k] === value);

const rowKey = (r: AclRow): string => `${r.principal}\t${r.resourceType}\t${r.patternType}\t${r.resourceName}\t${r.operation}`;
const rowText = (r: AclRow): string =>
  `${r.principal} ${r.operation} ${r.resourceType.toLowerCase()} ${r.resourceName}${r.patternType === 'PREFIXED' ? '*' : ''}`;

const toEntry = (r: AclRow): AclEntry => ({
  resourceType: RESOURCE[r.resourceType],
  resourceName: r.resourceName,
  resourcePatternType: PATTERN[r.patternType],
  principal: `User:${r.principal}`,
  host: '*',
  operation: OPERATION[r.operation],
  permissionType: AclPermissionTypes.ALLOW,
});

interface BrokerAcl {
  entry: AclEntry;
  /** The row it is, when it is an ALLOW row of the table's shape (host '*', a known operation). */
  row?: AclRow;
  text: string;
}

async function brokerAcls(admin: Admin): Promise<BrokerAcl[]> {
  const res = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const out: BrokerAcl[] = [];
  for (const resource of res.resources) {
    for (const acl of resource.acls) {
      const entry: AclEntry = { ...acl, resourceType: resource.resourceType, resourceName: resource.resourceName, resourcePatternType: resource.resourcePatternType };
      const resourceType = nameOf(RESOURCE, resource.resourceType);
      const patternType = nameOf(PATTERN, resource.resourcePatternType);
      const operation = nameOf(OPERATION, acl.operation);
      const principal = acl.principal.startsWith('User:') ? acl.principal.slice('User:'.length) : undefined;
      const row =
        resourceType && patternType && operation && principal !== undefined && acl.host === '*' && acl.permissionType === AclPermissionTypes.ALLOW
          ? { principal, resourceType, patternType, resourceName: resource.resourceName, operation }
          : undefined;
      const text = row
        ? rowText(row)
        : `${acl.principal} ${acl.permissionType === AclPermissionTypes.ALLOW ? 'ALLOW' : 'DENY'} op ${acl.operation} on resource type ${resource.resourceType} "${resource.resourceName}" (pattern ${resource.resourcePatternType}, host ${acl.host})`;
      out.push({ entry, ...(row ? { row } : {}), text });
    }
  }
  return out;
}

interface AclDiff {
  missing: AclRow[];
  /** ALLOW rows of known principals that the table does not have: 'provision' deletes them. */
  extra: BrokerAcl[];
  /** Rows of principals the table does not know, or DENY rows: left as they are, reported. */
  foreign: BrokerAcl[];
  matching: number;
}

function diffAcls(want: AclRow[], have: BrokerAcl[], known: Set<string>): AclDiff {
  const wantKeys = new Set(want.map(rowKey));
  const haveKeys = new Set(have.flatMap((h) => (h.row ? [rowKey(h.row)] : [])));
  const missing = want.filter((r) => !haveKeys.has(rowKey(r)));
  const extra: BrokerAcl[] = [];
  const foreign: BrokerAcl[] = [];
  for (const h of have) {
    if (h.row && wantKeys.has(rowKey(h.row))) continue;
    const principal = h.entry.principal.startsWith('User:') ? h.entry.principal.slice(5) : h.entry.principal;
    if (known.has(principal) && h.entry.permissionType === AclPermissionTypes.ALLOW) extra.push(h);
    else foreign.push(h);
  }
  return { missing, extra, foreign, matching: want.length - missing.length };
}

async function applyAcls(admin: Admin, want: AclRow[], known: Set<string>): Promise<string> {
  const before = diffAcls(want, await brokerAcls(admin), known);
  if (before.missing.length > 0) await admin.createAcls({ acl: before.missing.map(toEntry) });
  if (before.extra.length > 0) await admin.deleteAcls({ filters: before.extra.map((e) => e.entry) });
  // The broker applies ACL changes through its metadata log: read them back until they show.
  let after = diffAcls(want, await brokerAcls(admin), known);
  for (let i = 0; i < 40 && (after.missing.length > 0 || after.extra.length > 0); i += 1) {
    await sleep(250);
    after = diffAcls(want, await brokerAcls(admin), known);
  }
  if (after.missing.length > 0 || after.extra.length > 0) {
    throw new Error(`ACLs still differ from the table after applying it: ${describeDiff(after).join('; ')}`);
  }
  return (
    `acls: ${before.missing.length} rows created, ${before.extra.length} deleted; broker: ${after.matching} rows match the table` +
    (after.foreign.length > 0 ? ` (and ${after.foreign.length} row(s) of principals outside the table, left as they are)` : '')
  );
}

function describeDiff(d: AclDiff): string[] {
  return [
    ...d.missing.map((r) => `missing on the broker: ${rowText(r)}`),
    ...d.extra.map((e) => `on the broker, not in the table: ${e.text}`),
    ...d.foreign.map((e) => `on the broker, principal outside the table: ${e.text}`),
  ];
}

const ENGINE_ROLES: Record<string, string> = {
  intake: 'the intake bridge',
  actions: 'the actions bridge',
  publisher: 'the notification publisher',
  monitor: 'the consumer-lag monitor of /metrics',
  redrive: 'referrals redrive',
  audit: "the codec server's audit records",
};

function describePrincipal(a: KafkaAccessFile, name: string, kind: string): string {
  if (kind === 'agency') return `agency ${brokerAgencies.find((c) => agencyPrincipal(c) === name) ?? name}`;
  if (kind === 'partner') return `partner organisation ${a.partners.find((o) => partnerPrincipal(o) === name) ?? name}`;
  if (kind.startsWith('engine-')) return `engine: ${ENGINE_ROLES[kind.slice('engine-'.length)] ?? kind}`;
  return kind;
}

function printTable(a: KafkaAccessFile, rows: AclRow[], superUsers: string[], shared: boolean): void {
  const kinds = new Map(principalKinds(a).map((p) => [p.name, describePrincipal(a, p.name, p.kind)]));
  const lines: string[] = [];
  lines.push(`ACL table (${process.env['KAFKA_ACCESS_FILE'] ?? 'config/kafka-access.json'}${shared ? ', with the shared topics (KAFKA_SHARED_TOPICS=1)' : ''}): ALLOW rows; whatever no row allows is denied.`);
  lines.push(`super users (every operation, no ACL consulted): ${[a.admin, ...superUsers].join(', ')}`);
  const byPrincipal = new Map<string, AclRow[]>();
  for (const r of rows) byPrincipal.set(r.principal, [...(byPrincipal.get(r.principal) ?? []), r]);
  for (const [principal, own] of byPrincipal) {
    lines.push('');
    lines.push(`${principal} (${kinds.get(principal) ?? 'not a principal of the table'})`);
    for (const r of own) {
      const name = r.patternType === 'PREFIXED' ? `${r.resourceName}* (prefixed)` : r.resourceName;
      lines.push(`  ${r.operation.padEnd(8)} ${r.resourceType.toLowerCase().padEnd(5)} ${name}`);
    }
  }
  const without = [...kinds.keys()].filter((p) => !byPrincipal.has(p) && p !== a.admin);
  if (without.length > 0) lines.push('', `no rows (nothing allowed): ${without.join(', ')}`);
  lines.push('', `${rows.length} rows for ${byPrincipal.size} principals`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---- main ------------------------------------------------------------------------------

const USAGE = `usage: node --import tsx scripts/kafka-admin.ts <credentials|ready|provision|acls> [options]
  credentials --file F [--reserved a,b] [--principals-out P]
  ready       --brokers H:P --ca-file F --credentials-file F [--user NAME] [--timeout-ms 5000]
  provision   (connection as for ready) [--topics extra,...] [--shared 0|1] [--partitions 3]
              [--replication-factor 1] [--timeout-ms 30000]
  acls        (connection as for ready) [--no-broker] [--shared 0|1] [--super-users a,b] [--timeout-ms 5000]`;

async function main(): Promise<void> {
  // `acls | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      file: { type: 'string' },
      reserved: { type: 'string' },
      'principals-out': { type: 'string' },
      brokers: { type: 'string' },
      'ca-file': { type: 'string' },
      'credentials-file': { type: 'string' },
      user: { type: 'string' },
      'timeout-ms': { type: 'string' },
      topics: { type: 'string' },
      shared: { type: 'string' },
      partitions: { type: 'string' },
      'replication-factor': { type: 'string' },
      'no-broker': { type: 'boolean' },
      'super-users': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || command === 'help' || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(command === undefined ? 2 : 0);
  }
  switch (command) {
    case 'credentials': {
      if (!values.file) throw new UsageError('--file is required');
      credentials(values.file, list(values.reserved), values['principals-out']);
      return;
    }
    case 'ready': {
      const a = access();
      await ready(connectionOf(values, a), positiveInt(values['timeout-ms'], 'timeout-ms', 5000));
      return;
    }
    case 'provision': {
      const a = access();
      const c = connectionOf(values, a);
      const shared = flag01(values.shared, 'shared');
      const topics = wantedTopics(a, shared, list(values.topics));
      const timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms', 30000);
      const partitions = positiveInt(values.partitions, 'partitions', 3);
      const rf = positiveInt(values['replication-factor'], 'replication-factor', 1);
      const known = new Set(allPrincipalNames(a));
      const lines = await withAdmin(c, Date.now() + timeoutMs, async (admin) => [
        await createTopics(admin, topics, partitions, rf, timeoutMs),
        await applyAcls(admin, wantedRows(a, shared), known),
      ]);
      process.stdout.write(`${lines.join('\n')}\n`);
      return;
    }
    case 'acls': {
      const a = access();
      const shared = flag01(values.shared, 'shared');
      const rows = wantedRows(a, shared);
      printTable(a, rows, list(values['super-users']), shared);
      if (values['no-broker']) {
        process.stdout.write('broker: not running (nothing to compare)\n');
        process.exit(3);
      }
      const c = connectionOf(values, a);
      let have: BrokerAcl[];
      try {
        have = await withAdmin(c, Date.now() + positiveInt(values['timeout-ms'], 'timeout-ms', 5000), brokerAcls);
      } catch (err) {
        process.stdout.write(`broker: not reachable at ${c.brokers.join(',')} as ${c.user} (${(err as Error).message})\n`);
        process.exit(3);
      }
      const d = diffAcls(rows, have, new Set(allPrincipalNames(a)));
      const differences = describeDiff(d);
      if (differences.length === 0) {
        process.stdout.write(`broker: ${d.matching} rows match the table\n`);
        return;
      }
      process.stdout.write(`broker: ${d.matching} of ${rows.length} rows match the table; ${differences.length} difference(s):\n${differences.map((l) => `  ${l}`).join('\n')}\n`);
      if (d.missing.length > 0 || d.extra.length > 0) process.stdout.write("('up' applies the table)\n");
      process.exit(1);
      return;
    }
    default:
      throw new UsageError(`unknown command '${command}'\n${USAGE}`);
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) fail(err.message, 2);
  fail(err instanceof Error ? err.message : String(err));
});
