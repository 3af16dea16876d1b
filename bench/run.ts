import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import { actionsScenario } from './actions.js';
import type { BenchContext, Scenario } from './context.js';
import { childEngines, dataConverter } from './engine.js';
import { shippedPolicy } from './fixtures.js';
import { intakeScenario } from './intake.js';
import { BenchKafka, watchConnections } from './kafka.js';
import { lifecycleScenario } from './lifecycle.js';
import { openReferralsScenario } from './open-referrals.js';
import { figure, printTable, progress, writeResults, type Figure } from './report.js';
import { runClusterBench } from './cluster.js';
import { benchCluster, clusterBuilt, clusterCommand, clusterTarget, devTarget, type ProfileTarget } from './profiles.js';
import { benchStack, machineInfo, repoRoot, stackDown, stackUp } from './stack.js';
import { round } from './stats.js';

/** Run order: scenario 3 last, since it leaves thousands of timers running on the server. */
const scenarios: Scenario[] = [intakeScenario, actionsScenario, lifecycleScenario, openReferralsScenario];

const usage = `usage: npm run bench [-- --quick] [-- --only <scenario>[,<scenario>...]]
       npm run bench -- --profile cluster [--quick]

Benchmarks the engine on its own local stack (scripts/stack.sh with STACK_DIR=${benchStack.dir},
Temporal ${benchStack.temporalAddress}, Kafka ${benchStack.brokers} with SASL_SSL and the development-only
PLAINTEXT listener on ${benchStack.plaintextBrokers}; wiped at start, stopped at the end),
printing each figure beside a baseline measured in the same run. Scenarios 1 and 2 measure their
main figures on both listeners, in rounds alternating between them, and print SASL_SSL / PLAINTEXT
ratios with the load averages. Figures go to stdout as a table and to bench/results/<timestamp>.json;
progress goes to stderr.

With --profile cluster: scenarios 1 (intake) and 2 (action round trip) on the cluster profile
(scripts/cluster.sh in ${benchCluster.dir}, port base ${benchCluster.portBase}: Temporal on
PostgreSQL, three Kafka nodes) and on the bench stack in the same run, each with two engine
processes as deployed (ENGINE_ROLES=worker,bridge), in rounds dev, cluster, cluster, dev, with
cluster / dev ratios; then intake on the cluster with one engine replica and with two. Needs the
cluster's Go builds (bash scripts/cluster.sh install; a cold build takes minutes). Both stacks are
stopped at the end.

options:
  --quick           smaller sizes, under 3 minutes (the full run takes under 20);
                    with --profile cluster about 8 minutes (the full run about 15)
  --only <list>     scenarios by number or name: ${scenarios.map((s) => `${s.number}|${s.id}`).join(', ')}
  --profile <name>  dev (the default: the four scenarios) or cluster (the comparison above)
  --help            this text

environment: BENCH_STACK_DIR, BENCH_TEMPORAL_PORT, BENCH_TEMPORAL_UI_PORT, BENCH_KAFKA_PORT,
BENCH_KAFKA_CONTROLLER_PORT, BENCH_KAFKA_DEV_PLAINTEXT_PORT (default: the Kafka port + 3) move the
bench stack elsewhere; BENCH_CLUSTER_STACK_DIR and BENCH_CLUSTER_PORT_BASE the bench's cluster; BENCH_ENGINE_NODE_OPTIONS replaces the
NODE_OPTIONS the engine process of scenario 3 gets (by default the image's, from the Dockerfile).`;

function parse() {
  try {
    const { values } = parseArgs({
      options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, profile: { type: 'string', default: 'dev' }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
    });
    if (values.profile !== 'dev' && values.profile !== 'cluster') throw new Error(`--profile: expected dev or cluster, got "${values.profile}"`);
    if (values.profile === 'cluster' && values.only !== undefined) throw new Error('--only: the cluster profile runs its own comparison of scenarios 1 and 2; leave --only out');
    return values as typeof values & { profile: 'dev' | 'cluster' };
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
}

function select(only: string | undefined): Scenario[] {
  if (!only) return scenarios;
  const wanted = only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !scenarios.some((s) => s.id === w || String(s.number) === w));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.join(', ')} (known: ${scenarios.map((s) => `${s.number}|${s.id}`).join(', ')})\n`);
    process.exit(2);
  }
  return scenarios.filter((s) => wanted.includes(s.id) || wanted.includes(String(s.number)));
}

let stackStarted = false;
let clusterStarted = false;
let stopping = false;
/** Stops what the bench started: engine processes, then the stack. Safe to call twice. */
function teardown(): void {
  if (stopping) return;
  stopping = true;
  for (const child of childEngines) child.kill();
  if (clusterStarted) {
    progress('stopping the bench cluster');
    try {
      clusterCommand(['down'], true);
    } catch (err) {
      progress(`cluster down failed: ${(err as Error).message} (run: STACK_DIR=${benchCluster.dir} CLUSTER_PORT_BASE=${benchCluster.portBase} bash scripts/cluster.sh down)`);
    }
  }
  if (stackStarted) {
    progress('stopping the bench stack');
    try {
      stackDown();
    } catch (err) {
      progress(`stack down failed: ${(err as Error).message} (run: STACK_DIR=${benchStack.dir} bash scripts/stack.sh down)`);
    }
  }
}

async function main(): Promise<void> {
  const args = parse();
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const quick = args.quick ?? false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      progress(`${signal}: stopping`);
      teardown();
      process.exit(130);
    });
  }
  if (args.profile === 'cluster') return clusterMain(quick);
  const chosen = select(args.only);
  const startedAt = new Date();
  const machine = machineInfo();
  progress(`${quick ? 'quick' : 'full'} run of ${chosen.map((s) => s.number).join(', ')} on ${machine.cores} cores, ${machine.memoryTotalMiB} MiB (load ${machine.loadAverageAtStart.join(' ')})`);
  progress(`starting the bench stack in ${benchStack.dir}`);
  const t0 = performance.now();
  stackStarted = true;
  await stackUp();
  progress(`bench stack up: Temporal ${benchStack.temporalAddress}, Kafka ${benchStack.brokers} (SASL_SSL) and ${benchStack.plaintextBrokers} (dev PLAINTEXT)`);
  const stackUpMs = performance.now() - t0;

  // The SDK's and its core's warnings go to stderr with the progress lines; stdout holds the table.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => process.stderr.write(`bench: sdk ${entry.level}: ${entry.message}\n`)),
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  const connection = await Connection.connect({ address: benchStack.temporalAddress });
  const nativeConnection = await NativeConnection.connect({ address: benchStack.temporalAddress });
  // Every Kafka socket and SASL login of this process counted per port, from here on.
  watchConnections();
  const kafka = new BenchKafka(benchStack.brokers, 'SASL_SSL');
  const plaintextKafka = new BenchKafka(benchStack.plaintextBrokers, 'PLAINTEXT');
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  const ctx: BenchContext = {
    quick,
    temporalAddress: benchStack.temporalAddress,
    brokers: benchStack.brokers,
    client: new Client({ connection, dataConverter }),
    floorClient: new Client({ connection }),
    connection: nativeConnection,
    kafka,
    transports: {
      SASL_SSL: { name: 'SASL_SSL', brokers: benchStack.brokers, port: Number(benchStack.ports.KAFKA_PORT), kafka },
      PLAINTEXT: { name: 'PLAINTEXT', brokers: benchStack.plaintextBrokers, port: Number(benchStack.ports.KAFKA_DEV_PLAINTEXT_PORT), kafka: plaintextKafka },
    },
    policy: await shippedPolicy(),
    figures,
    details,
    log: (m) => progress(`  ${m}`),
  };
  const durations: Record<string, number> = {};
  /** One-minute load average as each scenario starts and ends: on a shared machine, the context of its figures. */
  const loads: Record<string, { atStart: number; atEnd?: number }> = {};
  try {
    for (const [i, scenario] of chosen.entries()) {
      progress(`[${i + 1}/${chosen.length}] scenario ${scenario.number}: ${scenario.title} (load ${loadavg()[0]!.toFixed(1)})`);
      loads[scenario.id] = { atStart: round(loadavg()[0]!, 2) };
      const s0 = performance.now();
      try {
        await scenario.run(ctx);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        progress(`  scenario ${scenario.number} failed: ${message}`);
        figures.push(figure({ scenario: `${scenario.number} ${scenario.id}`, name: 'scenario failed', value: null, unit: '', note: message.slice(0, 300) }));
        details[`${scenario.id}Error`] = err instanceof Error ? (err.stack ?? message) : message;
      }
      durations[scenario.id] = Math.round(performance.now() - s0);
      loads[scenario.id]!.atEnd = round(loadavg()[0]!, 2);
      progress(`  scenario ${scenario.number} done in ${(durations[scenario.id]! / 1000).toFixed(1)} s`);
    }
  } finally {
    await kafka.close();
    await plaintextKafka.close();
    await nativeConnection.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    teardown();
  }
  figures.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
  printTable(figures);
  const file = writeResults(`${repoRoot}bench/results`, startedAt, {
    startedAt: startedAt.toISOString(),
    mode: quick ? 'quick' : 'full',
    scenarios: chosen.map((s) => s.id),
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    stack: { dir: benchStack.dir, temporal: benchStack.temporalAddress, kafka: benchStack.brokers, kafkaDevPlaintext: benchStack.plaintextBrokers, upMs: Math.round(stackUpMs) },
    durationsMs: { ...durations, total: Math.round(performance.now() - t0) },
    loadAverage: loads,
    figures,
    details,
  });
  progress(`figures written to ${file.replace(repoRoot, '')} (${((performance.now() - t0) / 1000).toFixed(0)} s in all)`);
}

/** `--profile cluster`: both stacks up, the comparison of bench/cluster.ts, both stopped. */
async function clusterMain(quick: boolean): Promise<void> {
  const startedAt = new Date();
  const machine = machineInfo();
  progress(`${quick ? 'quick' : 'full'} run on the cluster profile and the bench stack, ${machine.cores} cores, ${machine.memoryTotalMiB} MiB (load ${machine.loadAverageAtStart.join(' ')})`);
  const t0 = performance.now();
  if (!clusterBuilt()) progress('the cluster profile\'s Go builds are not cached: building them first (a cold build takes minutes)');
  clusterCommand(['install']);
  progress(`starting the bench stack in ${benchStack.dir}`);
  stackStarted = true;
  await stackUp();
  progress(`bench stack up: Temporal ${benchStack.temporalAddress}, Kafka ${benchStack.brokers}; starting the cluster profile in ${benchCluster.dir}`);
  clusterStarted = true;
  const c0 = performance.now();
  const cluster = clusterTarget();
  const clusterUpMs = performance.now() - c0;
  progress(`cluster up in ${(clusterUpMs / 1000).toFixed(0)} s; starting two engine processes on the bench stack`);
  let dev: ProfileTarget | undefined;
  let result: Awaited<ReturnType<typeof runClusterBench>>;
  const m0 = performance.now();
  try {
    dev = await devTarget();
    result = await runClusterBench({ quick, policy: await shippedPolicy(), dev, cluster, log: (m) => progress(`  ${m}`) });
  } finally {
    await dev?.stop();
    progress('stopping the bench cluster');
    await cluster.stop().catch((err: unknown) => progress(`cluster down failed: ${(err as Error).message}`));
    clusterStarted = false;
    teardown();
  }
  printTable(result.figures);
  const file = writeResults(`${repoRoot}bench/results`, startedAt, {
    startedAt: startedAt.toISOString(),
    mode: quick ? 'quick' : 'full',
    profile: 'cluster',
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    stacks: { dev: { dir: benchStack.dir, temporal: benchStack.temporalAddress, kafka: benchStack.brokers }, cluster: { dir: benchCluster.dir, portBase: benchCluster.portBase, upMs: Math.round(clusterUpMs) } },
    durationsMs: { measured: Math.round(performance.now() - m0), total: Math.round(performance.now() - t0) },
    figures: result.figures,
    details: result.details,
  });
  progress(`figures written to ${file.replace(repoRoot, '')} (${((performance.now() - t0) / 1000).toFixed(0)} s in all)`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    teardown();
    process.exit(1);
  },
);
