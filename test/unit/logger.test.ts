/**
 * Log redaction (workers/logger.ts): a careless log call with a referral, its persons or one
 * person must not print a name, contact or health detail.
 */
import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { redactPaths } from '../../workers/logger.js';

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
