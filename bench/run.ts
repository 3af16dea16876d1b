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
import { benchStack, machineInfo, repoRoot, stackDown, stackUp } from './stack.js';
import { round } from './stats.js';

/** Run order: scenario 3 last, since it leaves thousands of timers running on the server. */
const scenarios: Scenario[] = [intakeScenario, actionsScenario, lifecycleScenario, openReferralsScenario];

const usage = `usage: npm run bench [-- --quick] [-- --only <scenario>[,<scenario>...]]

Benchmarks the engine on its own local stack (scripts/stack.sh with STACK_DIR=${benchStack.dir},
Temporal ${benchStack.temporalAddress}, Kafka ${benchStack.brokers} with SASL_SSL and the development-only
PLAINTEXT listener on ${benchStack.plaintextBrokers}; wiped at start, stopped at the end),
printing each figure beside a baseline measured in the same run. Scenarios 1 and 2 measure their
main figures on both listeners, in rounds alternating between them, and print SASL_SSL / PLAINTEXT
ratios with the load averages. Figures go to stdout as a table and to bench/results/<timestamp>.json;
progress goes to stderr.

options:
  --quick           smaller sizes, under 3 minutes (the full run takes under 20)
  --only <list>     scenarios by number or name: ${scenarios.map((s) => `${s.number}|${s.id}`).join(', ')}
  --help            this text

environment: BENCH_STACK_DIR, BENCH_TEMPORAL_PORT, BENCH_TEMPORAL_UI_PORT, BENCH_KAFKA_PORT,
BENCH_KAFKA_CONTROLLER_PORT, BENCH_KAFKA_DEV_PLAINTEXT_PORT (default: the Kafka port + 3) move the
bench stack elsewhere; BENCH_ENGINE_NODE_OPTIONS replaces the
NODE_OPTIONS the engine process of scenario 3 gets (by default the image's, from the Dockerfile).`;

function parse() {
  try {
    const { values } = parseArgs({
      options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
    });
    return values;
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
let stopping = false;
/** Stops what the bench started: engine processes, then the stack. Safe to call twice. */
function teardown(): void {
  if (stopping) return;
  stopping = true;
  for (const child of childEngines) child.kill();
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
  const chosen = select(args.only);
  const quick = args.quick ?? false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      progress(`${signal}: stopping`);
      teardown();
      process.exit(130);
    });
  }
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

main().then(
  () => process.exit(0),
  (err: unknown) => {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    teardown();
    process.exit(1);
  },
);
