import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../support/stack-paths.js';

/**
 * Kafka's own console tools as the README runs them: `bash scripts/kafka.sh <tool> --as <principal>`
 * on the test stack (STACK_DIR and ports from stackEnv), logging in with the file that
 * `stack.sh client-config` writes. No engine runs: the broker alone answers.
 */

const stackEnv = inject('stackEnv');
const security = inject('kafkaSecurity');
const runId = `kafka-tools-${process.pid}-${Date.now().toString(36)}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], input?: string, timeoutMs = 45_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile('bash', args, { cwd: repoRoot, env: { ...process.env, ...stackEnv }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(new Error(`${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ code: err ? (err.code as unknown as number) : 0, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

const kafka = (tool: string, args: string[], input?: string) => run(['scripts/kafka.sh', tool, ...args], input);
/** One line for the console producer: `<headers>|<key>|<value>`. */
const lineFormat = ['--property', 'parse.headers=true', '--property', 'headers.delimiter=|', '--property', 'parse.key=true', '--property', 'key.separator=|'];
const headers = `ce_specversion:1.0,ce_id:${runId},ce_source:urn:agency:fia,ce_type:test.kafka-tools.v1,content-type:application/json`;
const value = JSON.stringify({ runId, note: 'a record of the kafka-tools test' });

describe('scripts/kafka.sh: the console tools against the secured broker', () => {
  it('client-config writes a principal\'s settings, mode 600, and prints the path, never the password', async () => {
    const out = await run(['scripts/stack.sh', 'client-config', 'fia']);
    expect(out.code, out.stderr).toBe(0);
    const file = out.stdout.trim();
    expect(file).toBe(`${stackEnv['STACK_DIR']}/kafka-clients/fia.properties`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const password = (JSON.parse(readFileSync(security.credentialsFile, 'utf8')) as Record<string, string>)['fia']!;
    expect(out.stdout + out.stderr).not.toContain(password);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`bootstrap.servers=127.0.0.1:${stackEnv['KAFKA_PORT']}\n`);
    expect(text).toContain('security.protocol=SASL_SSL\n');
    expect(text).toContain('sasl.mechanism=SCRAM-SHA-512\n');
    expect(text).toContain(`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="fia" password="${password}";\n`);
    expect(text).toContain(`ssl.truststore.location=${security.caFile}\n`);

    const unknown = await run(['scripts/stack.sh', 'client-config', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not a principal of the access table/);
  });

  it('FIA produces to its own intake topic; to NCCIA\'s it is refused by the broker', async () => {
    const [own, other] = await Promise.all([
      kafka('console-producer', ['--as', 'fia', '--topic', 'referrals.intake.fia', ...lineFormat], `${headers}|${runId}|${value}\n`),
      kafka('console-producer', ['--as', 'fia', '--topic', 'referrals.intake.nccia', ...lineFormat], `${headers}|${runId}-nccia|${value}\n`),
    ]);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stderr).not.toMatch(/ERROR|Exception/);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('TopicAuthorizationException: Not authorized to access topics: [referrals.intake.nccia]');
  });

  it('the admin reads the record back with its key and headers; FIA reads its own notifications only', async () => {
    const [admin, fiaOwn, fiaOther] = await Promise.all([
      kafka('console-consumer', [
        // The first consumer group of a fresh broker waits for __consumer_offsets to be made: time enough for that.
        '--as', 'admin', '--topic', 'referrals.intake.fia', '--from-beginning', '--timeout-ms', '20000',
        '--property', 'print.key=true', '--property', 'print.headers=true',
      ]),
      kafka('console-consumer', ['--as', 'fia', '--mtls', '--topic', 'referrals.notify.fia', '--from-beginning', '--timeout-ms', '3000']),
      // Refused at once when all is well; the long timeout only keeps a loaded machine from ending it first.
      kafka('console-consumer', ['--as', 'fia', '--topic', 'referrals.notify.nccia', '--from-beginning', '--timeout-ms', '30000']),
    ]);
    expect(admin.code, admin.stderr).toBe(0);
    const line = admin.stdout.split('\n').find((l) => l.includes(`\t${runId}\t`));
    expect(line, admin.stdout.slice(0, 2000)).toBe(`${headers}\t${runId}\t${value}`);
    // --timeout-ms is the normal end here: no error on stderr, only the tool's count.
    expect(admin.stderr).not.toMatch(/ERROR|Exception/);
    expect(admin.stderr).toMatch(/Processed a total of \d+ messages/);

    // FIA by certificate on the mTLS listener, in a consumer group of its own (fia.console-…).
    expect(fiaOwn.code, fiaOwn.stderr).toBe(0);
    expect(fiaOwn.stderr).not.toMatch(/ERROR|Exception/);

    expect(fiaOther.code).toBe(1);
    expect(fiaOther.stderr).toContain('TopicAuthorizationException: Not authorized to access topics: [referrals.notify.nccia]');
  });
});
