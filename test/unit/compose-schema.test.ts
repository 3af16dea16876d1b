/**
 * docker-compose.yml against the Compose Specification's own JSON schema (vendored, with its
 * licence, in test/vendor/compose-spec/), validated with ajv: what `docker compose config` would
 * reject for its shape is caught here, without a Docker engine.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

function validator() {
  const schema = JSON.parse(read('test/vendor/compose-spec/compose-spec.json')) as Record<string, unknown>;
  // The schema names its draft by an https URL ajv does not know as a meta-schema; it is draft-07, ajv's default.
  delete schema['$schema'];
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  return ajv.compile(schema);
}

describe('docker-compose.yml against the Compose Specification schema', () => {
  const validate = validator();

  it('is valid, after YAML merge keys are applied as Compose applies them', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as unknown;
    const ok = validate(compose);
    expect(ok ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual([]);
  });

  it('the schema is not toothless: a misspelt service key, an unknown depends_on condition and a misspelt health-check key are refused', () => {
    const base = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
    const broken = structuredClone(base);
    broken.services['api']!['restartt'] = 'always';
    expect(validate(broken)).toBe(false);
    const badDepends = structuredClone(base);
    badDepends.services['engine-1']!['depends_on'] = { temporal: { condition: 'when_ready' } };
    expect(validate(badDepends)).toBe(false);
    const badHealth = structuredClone(base);
    badHealth.services['kafka-1']!['healthcheck'] = { test: ['CMD-SHELL', 'true'], intervall: '10s' };
    expect(validate(badHealth)).toBe(false);
  });
});
