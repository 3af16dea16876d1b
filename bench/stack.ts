import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const stackHome = process.env['STACK_HOME'] ?? `${repoRoot}.stack`;

/**
 * The bench's own stack: the project's scripts/stack.sh on ports and a state folder apart from a
 * developer's stack (7233…) and the integration tests' (17233…). Wiped at every start, so the
 * database sizes it reports start from an empty server.
 */
export const benchStack = {
  dir: process.env['BENCH_STACK_DIR'] ?? `${repoRoot}.stack/bench`,
  ports: {
    TEMPORAL_PORT: process.env['BENCH_TEMPORAL_PORT'] ?? '37233',
    TEMPORAL_UI_PORT: process.env['BENCH_TEMPORAL_UI_PORT'] ?? '38233',
    KAFKA_PORT: process.env['BENCH_KAFKA_PORT'] ?? '39092',
    KAFKA_CONTROLLER_PORT: process.env['BENCH_KAFKA_CONTROLLER_PORT'] ?? '39093',
    // The broker's development-only PLAINTEXT listener (every client a super user), beside SASL_SSL,
    // so scenarios 1 and 2 measure what TLS and SCRAM cost in the same run. Kafka port + 3: +2 is
    // the mTLS listener's default port, which the bench turns off but a developer's stack may use.
    KAFKA_DEV_PLAINTEXT_PORT: process.env['BENCH_KAFKA_DEV_PLAINTEXT_PORT'] ?? String(Number(process.env['BENCH_KAFKA_PORT'] ?? '39092') + 3),
  },
  get temporalAddress(): string {
    return `127.0.0.1:${this.ports.TEMPORAL_PORT}`;
  },
  /** The SASL_SSL listener (SCRAM-SHA-512): what the engine uses. */
  get brokers(): string {
    return `127.0.0.1:${this.ports.KAFKA_PORT}`;
  },
  /** The development-only PLAINTEXT listener, for the comparison only. */
  get plaintextBrokers(): string {
    return `127.0.0.1:${this.ports.KAFKA_DEV_PLAINTEXT_PORT}`;
  },
};

function stack(command: 'up' | 'down', quiet: boolean): void {
  const ports = Object.values(benchStack.ports);
  if (new Set(ports).size !== ports.length) throw new Error(`bench stack ports must be distinct: ${JSON.stringify(benchStack.ports)}`);
  const result = spawnSync('bash', [`${repoRoot}scripts/stack.sh`, command], {
    // No mTLS listener: the bench's clients log in with SCRAM over TLS, or use the dev PLAINTEXT
    // listener for the comparison.
    env: { ...process.env, ...benchStack.ports, KAFKA_MTLS_PORT: 'off', STACK_DIR: benchStack.dir },
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`scripts/stack.sh ${command} failed (exit ${result.status ?? result.signal})`);
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * Stops whatever a previous bench left running, wipes its state and starts a fresh stack. When
 * another stack holds the ports (the machine is shared) and no BENCH_*_PORT was given, the next
 * block of ports (+100, +200, …) is used.
 */
export async function stackUp(): Promise<void> {
  stack('down', true);
  rmSync(benchStack.dir, { recursive: true, force: true });
  const pinned = Object.keys(process.env).some((k) => /^BENCH_.*_PORT$/.test(k));
  const base = Object.fromEntries(Object.entries(benchStack.ports).map(([k, v]) => [k, Number(v)]));
  for (let offset = 0; !pinned && offset <= 1000; offset += 100) {
    const free = await Promise.all(Object.values(base).map((p) => portFree(p + offset)));
    if (free.every(Boolean)) {
      for (const [k, v] of Object.entries(base)) benchStack.ports[k as keyof typeof benchStack.ports] = String(v + offset);
      break;
    }
  }
  stack('up', true);
}

/** What scripts/stack.sh writes for the bench stack's secured broker: its CA and the development passwords. */
export function benchKafkaFiles(): { caFile: string; credentialsFile: string } {
  return { caFile: `${benchStack.dir}/kafka-tls/ca.pem`, credentialsFile: `${benchStack.dir}/kafka-credentials.json` };
}

/**
 * Environment of an engine process of the bench: every client connects as `principal` (the
 * bench's topics carry a run prefix, which the ACL table does not name: the admin principal).
 */
export function benchEngineSecurityEnv(principal = 'admin'): Record<string, string> {
  const { caFile, credentialsFile } = benchKafkaFiles();
  const users = Object.fromEntries(['INTAKE', 'ACTIONS', 'PUBLISHER', 'MONITOR', 'REDRIVE'].map((c) => [`KAFKA_${c}_USERNAME`, principal]));
  return { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SSL_CA_FILE: caFile, KAFKA_CREDENTIALS_FILE: credentialsFile, ...users };
}

export function stackDown(): void {
  stack('down', true);
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN if it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds (user + system) used so far by each group of processes, every process below them
 * included, from one read of /proc: PostgreSQL's backends are children of its postmaster, and a
 * child's own times are not in its parent's until it exits. Gone processes count 0.
 */
export function processTreesCpuSeconds(groups: Record<string, readonly number[]>): Record<string, number> {
  const parentOf = new Map<number, number>();
  const own = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
      own.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // exited while the list was read
    }
  }
  const under = (pid: number, roots: ReadonlySet<number>): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parentOf.get(p) ?? 0, hops++) if (roots.has(p)) return true;
    return false;
  };
  return Object.fromEntries(
    Object.entries(groups).map(([name, pids]) => {
      const roots = new Set(pids);
      let sum = 0;
      for (const [pid, cpu] of own) if (under(pid, roots)) sum += cpu;
      return [name, sum];
    }),
  );
}

/** CPU seconds used so far by the stack's servers and by this process. */
export function cpuNow(): { temporal: number; kafka: number; bench: number } {
  const pid = (name: string) => Number(readFileSync(`${benchStack.dir}/pids/${name}.pid`, 'utf8').trim());
  const self = process.cpuUsage();
  return { temporal: cpuSeconds(pid('temporal')), kafka: cpuSeconds(pid('kafka')), bench: (self.user + self.system) / 1e6 };
}

/** Bytes of the Temporal dev server's SQLite files (database and any journal/WAL beside it). */
export function temporalDbBytes(): number {
  const dir = `${benchStack.dir}/temporal`;
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => f.startsWith('temporal.db'))
    .reduce((sum, f) => sum + statSync(`${dir}/${f}`).size, 0);
}

export function stackPaths(): { temporalBin: string; testServerBin: string; kafkaLibs: string } {
  const env = Object.fromEntries(
    readFileSync(`${stackHome}/paths.env`, 'utf8')
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  return { temporalBin: env['TEMPORAL_BIN'] ?? '', testServerBin: env['TEMPORAL_TEST_SERVER_BIN'] ?? '', kafkaLibs: env['KAFKA_LIBS'] ?? '' };
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(`${repoRoot}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** What the figures were measured on: they mean little without it on a shared machine. */
export function machineInfo() {
  const { temporalBin, kafkaLibs } = stackPaths();
  const temporal = spawnSync(temporalBin, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? 'unknown';
  const kafkaJar = existsSync(kafkaLibs) ? readdirSync(kafkaLibs).find((f) => /^kafka_[\d.]+-[\d.]+\.jar$/.test(f)) : undefined;
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryTotalMiB: Math.round(totalmem() / 2 ** 20),
    memoryFreeMiBAtStart: Math.round(freemem() / 2 ** 20),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    os: `${process.platform} ${release()}`,
    versions: {
      node: process.version,
      temporalCli: temporal,
      kafka: kafkaJar?.replace(/^kafka_[\d.]+-([\d.]+)\.jar$/, '$1') ?? 'unknown',
      temporalSdk: packageVersion('@temporalio/worker'),
      kafkajs: packageVersion('kafkajs'),
    },
  };
}
