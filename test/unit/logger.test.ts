/**
 * Log redaction (workers/logger.ts): a careless log call with a referral, its persons or one
 * person must not print a name, contact or health detail.
 */
import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { createLogger, redactDeep, redactPaths } from '../../workers/logger.js';

const NAME = 'Ayesha K';
const CONTACT = '+92-300-7654321';
const HEALTH = 'fractured wrist';
const DOCUMENT = 'passport AB1234567';

function logger() {
  const lines: string[] = [];
  const log = pino({ redact: { paths: redactPaths, censor: '[redacted]' } }, { write(s: string) { lines.push(s); } });
  return { log, lines };
}

const person = () => ({ role: 'VICTIM', name: NAME, contact: CONTACT, health: HEALTH, documents: [DOCUMENT] });

function expectClean(lines: string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  const text = lines.join('');
  for (const secret of [NAME, CONTACT, HEALTH, DOCUMENT]) expect(text).not.toContain(secret);
  expect(text).toContain('[redacted]');
}

describe('redactPaths', () => {
  it('hides the persons of a logged referral', () => {
    const { log, lines } = logger();
    log.info({ referral: { referralId: 'REF-000123', persons: [person()] } }, 'referral');
    expectClean(lines);
    // Non-personal fields are still logged.
    expect(lines.join('')).toContain('REF-000123');
  });

  it('hides a top-level persons array', () => {
    const { log, lines } = logger();
    log.warn({ persons: [person(), { ...person(), role: 'WITNESS' }] }, 'persons');
    expectClean(lines);
  });

  it('hides persons one level further down', () => {
    const { log, lines } = logger();
    log.info({ event: { data: { persons: [person()] } } }, 'event');
    expectClean(lines);
  });

  it('hides the name, contact, health and documents of a logged person, keeping the role', () => {
    const { log, lines } = logger();
    log.error({ person: person() }, 'person');
    expectClean(lines);
    const entry = JSON.parse(lines[0] ?? '{}') as { person?: Record<string, unknown> };
    expect(entry.person).toMatchObject({ role: 'VICTIM', name: '[redacted]', contact: '[redacted]', health: '[redacted]', documents: '[redacted]' });
  });

  it('hides secrets under their key names', () => {
    const { log, lines } = logger();
    log.info({ password: 'hunter2', kafka: { secret: 's3cr3t', apiKey: 'k-1' }, headers: { authorization: 'Bearer xyz' } }, 'secrets');
    const text = lines.join('');
    for (const secret of ['hunter2', 's3cr3t', 'k-1', 'Bearer xyz']) expect(text).not.toContain(secret);
  });
});

describe('createLogger: redaction at every depth', () => {
  function engineLogger() {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    return { log, lines, text: () => lines.join('') };
  }

  it('hides persons and person fields however deep they are logged', () => {
    const { log, text } = engineLogger();
    log.info({ a: { b: { c: { d: { e: { persons: [person()] } } } } }, list: [[{ deep: [{ person: person() }] }]] }, 'deep');
    expectClean([text()]);
  });

  it('hides authorization, x-api-key and cookie headers at any depth and in any case, keeping the rest', () => {
    const { log, text } = engineLogger();
    const request = { method: 'GET', url: '/referrals', headers: { Authorization: 'Bearer tok-1', 'X-Api-Key': 'key-2', cookie: 'sid=cookie-3', 'set-cookie': 'sid=cookie-4', 'user-agent': 'curl/8' } };
    log.warn({ req: request, nested: { ctx: { request: { raw: { headers: { 'x-api-key': 'key-5', 'proxy-authorization': 'Basic pa-6' } } } } } }, 'request');
    for (const secret of ['tok-1', 'key-2', 'cookie-3', 'cookie-4', 'key-5', 'pa-6']) expect(text()).not.toContain(secret);
    expect(text()).toContain('curl/8');
    expect(text()).toContain('/referrals');
  });

  it('hides secrets in the fields of a logged error and in child bindings, never altering what was logged', () => {
    const { log, text } = engineLogger();
    const err = Object.assign(new Error('request failed'), { config: { headers: { authorization: 'Bearer err-7' } }, code: 'E_FAIL' });
    log.child({ component: 'x', headers: { cookie: 'bind-8' } }).error({ err }, 'failed');
    const entry = JSON.parse(text()) as { err: { type: string; message: string; code: string } };
    expect(entry.err).toMatchObject({ type: 'Error', message: 'request failed', code: 'E_FAIL' });
    for (const secret of ['err-7', 'bind-8']) expect(text()).not.toContain(secret);
    expect(err.config.headers.authorization).toBe('Bearer err-7');
  });

  it('copes with cycles and shared objects', () => {
    const shared = { ok: 'shared-value' };
    const cyclic: Record<string, unknown> = { password: 'pw-9', a: shared, b: shared };
    cyclic['self'] = cyclic;
    expect(redactDeep(cyclic)).toMatchObject({ password: '[redacted]', a: { ok: 'shared-value' }, b: { ok: 'shared-value' }, self: '[circular]' });
  });
});
