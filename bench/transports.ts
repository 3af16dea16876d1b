import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { connectionCounts, connectionsBetween, requestTotal, type BenchKafka, type ConnectionCounts, type TransportName } from './kafka.js';
import { benchStack, cpuNow } from './stack.js';
import { round, summarize, type Summary } from './stats.js';

/**
 * Scenarios 1 and 2 measure their main figures over both of the bench broker's client listeners,
 * SASL_SSL (SCRAM-SHA-512, what the engine runs on) and the development-only PLAINTEXT one, in
 * rounds that alternate between the two, so that the other sessions' load on this shared machine
 * weighs on both alike.
 */
export interface BenchTransport {
  name: TransportName;
  /** The listener, host:port. */
  brokers: string;
  port: number;
  /** The bench's own clients (agencies' producers, readers) on this listener. */
  kafka: BenchKafka;
}

export const SASL: TransportName = 'SASL_SSL';
export const PLAIN: TransportName = 'PLAINTEXT';
export const transportNames: readonly TransportName[] = [SASL, PLAIN];

/**
 * The order of 2 × `perTransport` rounds: SASL_SSL, PLAINTEXT, PLAINTEXT, SASL_SSL, SASL_SSL, …
 * (A B B A): a drift of the machine's load that is linear over the rounds weighs on both alike.
 */
export function alternation(perTransport: number): TransportName[] {
  const order: TransportName[] = [];
  for (let i = 0; i < perTransport; i++) order.push(...(i % 2 === 0 ? [SASL, PLAIN] : [PLAIN, SASL]));
  return order;
}

/** The one-minute load average now, 2 decimals. */
export const load1 = (): number => round(loadavg()[0]!, 2);

export type CpuMs = Record<keyof ReturnType<typeof cpuNow>, number>;

/** The broker JVM's garbage collections so far (`jstat -gc`): count and seconds, young and all; undefined without jstat. */
function brokerGc(): { young: number; youngS: number; all: number; allS: number } | undefined {
  try {
    const pid = readFileSync(`${benchStack.dir}/pids/kafka.pid`, 'utf8').trim();
    const out = spawnSync('jstat', ['-gc', pid], { encoding: 'utf8', timeout: 5_000 });
    const [head, values] = (out.stdout ?? '').trim().split('\n').map((l) => l.trim().split(/\s+/));
    if (!head || !values) return undefined;
    const v = (name: string) => Number(values[head.indexOf(name)]);
    const gc = { young: v('YGC'), youngS: v('YGCT'), all: v('YGC') + v('FGC') + (head.includes('CGC') ? v('CGC') : 0), allS: v('GCT') };
    return Object.values(gc).every(Number.isFinite) ? gc : undefined;
  } catch {
    return undefined;
  }
}

/** The whole machine's busy CPU time so far (user, nice, system, irq, softirq, steal; all cores), ms, from /proc/stat. */
function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return ((user + nice + system + irq + softirq + steal) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** What a round measured besides its figures: when, the machine's load, the CPU used, the connections opened. */
export interface RoundInfo {
  /** A transport, or the Temporal floor (no Kafka) between them. */
  transport: TransportName | 'floor';
  startedAt: string;
  ms: number;
  load: { atStart: number; atEnd: number };
  /** CPU milliseconds during the round: Temporal server, Kafka broker, this process (engine, bridges, bench clients). */
  cpuMs: CpuMs;
  /**
   * CPU the rest of the machine used meanwhile (other sessions' builds and tests), ms: the whole
   * machine's busy time less this stack's servers and this process; and as a share of all cores.
   */
  othersCpuMs: number;
  othersShare: number;
  /** Sockets opened, SASL logins and requests on the round's transport's port during the round. */
  connections?: ConnectionCounts;
  /** Requests on each listener during the round (the other transport's engine idles meanwhile, polling). */
  requestsByTransport: Record<TransportName, number>;
  /** The broker's garbage collections during the round (from jstat, read just outside the round): count and pause ms. */
  brokerGc?: { collections: number; pauseMs: number };
}

const portOf = (name: TransportName): number => Number(name === 'SASL_SSL' ? benchStack.ports.KAFKA_PORT : benchStack.ports.KAFKA_DEV_PLAINTEXT_PORT);

/** Runs `work` as one round on `transport` (undefined: the Temporal floor) and says what the round cost. */
export async function inRound<T>(transport: BenchTransport | undefined, work: () => Promise<T>): Promise<{ result: T; info: RoundInfo }> {
  const gc0 = transport ? brokerGc() : undefined;
  const startedAt = new Date().toISOString();
  const atStart = load1();
  const cpu0 = cpuNow();
  const busy0 = machineBusyMs();
  const conn0 = Object.fromEntries(transportNames.map((t) => [t, connectionCounts(portOf(t))])) as Record<TransportName, ConnectionCounts>;
  const t0 = performance.now();
  const result = await work();
  const ms = Math.round(performance.now() - t0);
  const cpu1 = cpuNow();
  const busy = machineBusyMs() - busy0;
  const cpuMs = Object.fromEntries((Object.keys(cpu0) as Array<keyof CpuMs>).map((k) => [k, Math.round((cpu1[k] - cpu0[k]) * 1000)])) as CpuMs;
  const othersCpuMs = Math.max(0, Math.round(busy - cpuMs.temporal - cpuMs.kafka - cpuMs.bench));
  const info: RoundInfo = {
    transport: transport?.name ?? 'floor',
    startedAt,
    ms,
    load: { atStart, atEnd: load1() },
    cpuMs,
    othersCpuMs,
    othersShare: round(othersCpuMs / Math.max(1, ms * cpus().length), 3),
    requestsByTransport: { SASL_SSL: 0, PLAINTEXT: 0 },
  };
  const gc1 = gc0 ? brokerGc() : undefined;
  if (gc0 && gc1) info.brokerGc = { collections: gc1.all - gc0.all, pauseMs: Math.round((gc1.allS - gc0.allS) * 1000) };
  for (const t of transportNames) {
    const c = connectionsBetween(conn0[t], connectionCounts(portOf(t)));
    info.requestsByTransport[t] = requestTotal(c);
    if (transport?.name === t) info.connections = { ...c, connectMs: round(c.connectMs, 1), authMs: round(c.authMs, 1) };
  }
  return { result, info };
}

/** A measured stretch: items done of those sent, their latencies, throughput from first send to last arrival. */
export interface Pass {
  perSec: number;
  latency: Summary;
  done: number;
  of: number;
  /** First send → last arrival, ms. */
  spanMs: number;
  /** Raw latencies, ms (left out of the JSON: `latency` summarises them). */
  latencies: number[];
}

/** Several passes of the same kind as one: throughput over their summed spans, latencies pooled. */
export function pooled(passes: readonly Pass[]): Pass {
  const latencies = passes.flatMap((p) => p.latencies);
  const done = passes.reduce((s, p) => s + p.done, 0);
  const spanMs = passes.reduce((s, p) => s + p.spanMs, 0);
  return { perSec: spanMs > 0 ? (done * 1000) / spanMs : 0, latency: summarize(latencies), done, of: passes.reduce((s, p) => s + p.of, 0), spanMs, latencies };
}

/** A pass as the JSON file holds it (no raw latencies). */
export function withoutLatencies<P extends Pass>(p: P): Omit<P, 'latencies'> {
  const { latencies: _latencies, ...rest } = p;
  return rest;
}

/** CPU ms per item done over rounds, by process. */
export function cpuPerItem(rounds: ReadonlyArray<{ info: RoundInfo; done: number }>): CpuMs {
  const done = Math.max(1, rounds.reduce((s, r) => s + r.done, 0));
  const sum = (k: keyof CpuMs) => round(rounds.reduce((s, r) => s + r.info.cpuMs[k], 0) / done, 2);
  return { temporal: sum('temporal'), kafka: sum('kafka'), bench: sum('bench') };
}

/** Connections opened, logins and requests during rounds, summed. */
export function connectionsIn(rounds: ReadonlyArray<{ info: RoundInfo }>): ConnectionCounts {
  const all = rounds.map((r) => r.info.connections).filter((c): c is ConnectionCounts => c !== undefined);
  const requests: Record<string, number> = {};
  for (const c of all) for (const [api, n] of Object.entries(c.requests)) requests[api] = (requests[api] ?? 0) + n;
  return {
    opened: all.reduce((s, c) => s + c.opened, 0),
    connectMs: round(all.reduce((s, c) => s + c.connectMs, 0), 1),
    authenticated: all.reduce((s, c) => s + c.authenticated, 0),
    authMs: round(all.reduce((s, c) => s + c.authMs, 0), 1),
    requests,
  };
}

/** The share of all cores the rest of the machine used during rounds (their CPU over their time). */
export function othersShareOver(rounds: ReadonlyArray<{ info: RoundInfo }>): number {
  const ms = rounds.reduce((s, r) => s + r.info.ms, 0);
  return round(rounds.reduce((s, r) => s + r.info.othersCpuMs, 0) / Math.max(1, ms * cpus().length), 3);
}

/** The load averages at the rounds' starts and ends: min, max, mean. */
export function loadOver(rounds: ReadonlyArray<{ info: RoundInfo }>): { min: number; max: number; mean: number } {
  const samples = rounds.flatMap((r) => [r.info.load.atStart, r.info.load.atEnd]);
  if (samples.length === 0) return { min: Number.NaN, max: Number.NaN, mean: Number.NaN };
  return { min: Math.min(...samples), max: Math.max(...samples), mean: round(samples.reduce((s, v) => s + v, 0) / samples.length, 2) };
}

/** "SASL_SSL P PLAINTEXT…" as a short order: S P F P S. */
export const orderText = (rounds: ReadonlyArray<{ info: RoundInfo }>): string =>
  rounds.map((r) => (r.info.transport === 'floor' ? 'F' : r.info.transport === SASL ? 'S' : 'P')).join(' ');

/**
 * What a transport's rounds cost besides time: requests on its listener per item, and the share
 * of the cores the rest of the machine took meanwhile.
 */
export function costOf(rounds: ReadonlyArray<{ info: RoundInfo; done: number }>, name: TransportName) {
  const done = Math.max(1, rounds.reduce((s, r) => s + r.done, 0));
  const own = rounds.reduce((s, r) => s + r.info.requestsByTransport[name], 0);
  const gc = rounds.map((r) => r.info.brokerGc).filter((g): g is NonNullable<RoundInfo['brokerGc']> => g !== undefined);
  return {
    requestsPerItem: round(own / done, 1),
    othersShare: othersShareOver(rounds),
    brokerGc: gc.length ? { collections: gc.reduce((x, g) => x + g.collections, 0), pauseMs: gc.reduce((x, g) => x + g.pauseMs, 0) } : null,
  };
}

/** The costOf() of both transports, as a note. */
export function costNote(s: ReturnType<typeof costOf>, p: ReturnType<typeof costOf>, item: string): string {
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  const gc = (c: ReturnType<typeof costOf>) => (c.brokerGc ? `${c.brokerGc.collections} (${c.brokerGc.pauseMs} ms)` : '—');
  return `Kafka requests per ${item} on its listener ${s.requestsPerItem} vs ${p.requestsPerItem}; broker GCs ${gc(s)} vs ${gc(p)}; other processes took ${pct(s.othersShare)} vs ${pct(p.othersShare)} of the cores`;
}

/** A figure of both transports from their rounds: the mean over each transport's rounds, and the S/P ratio of each adjacent pair. */
export interface Comparison {
  sasl: number;
  plaintext: number;
  /** sasl / plaintext. */
  ratio: number | null;
  /** SASL_SSL / PLAINTEXT of rounds 1–2, 3–4, …: how much the ratio moved with the load. */
  pairs: number[];
}

/**
 * Compares a figure of the transports' rounds (given in the order they ran, each pair one of
 * each). The mean of the rounds, not a pooled figure: in the A B B A order a drift of the load
 * that is linear over the rounds adds the same to both means, where pooling would weigh the
 * slowest round most.
 */
export function compare<T extends { info: RoundInfo }>(rounds: readonly T[], value: (r: T) => number): Comparison {
  const ab = rounds.filter((r) => r.info.transport !== 'floor');
  const mean = (name: TransportName) => {
    const v = ab.filter((r) => r.info.transport === name).map(value);
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : Number.NaN;
  };
  const sasl = mean(SASL);
  const plaintext = mean(PLAIN);
  const pairs: number[] = [];
  for (let i = 0; i + 1 < ab.length; i += 2) {
    const [a, b] = [ab[i]!, ab[i + 1]!];
    const [s, p] = a.info.transport === SASL ? [a, b] : [b, a];
    pairs.push(value(p) > 0 ? round(value(s) / value(p), 2) : Number.NaN);
  }
  return { sasl: round(sasl, 2), plaintext: round(plaintext, 2), ratio: plaintext > 0 && Number.isFinite(sasl) ? round(sasl / plaintext, 3) : null, pairs };
}

export const pairsText = (c: Comparison): string => `SASL_SSL / PLAINTEXT by pair of rounds: ${c.pairs.map((p) => `${p}×`).join(', ')}`;
