/**
 * Token configuration (config/env.ts API_JWKS_*, API_JWT_*): defaults, the HS256 development
 * switch, and every bad combination named at start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../config/env.js';
import { ConfigError } from '../../config/errors.js';
import { JWT_DEV_ISSUER } from '../../config/identities.js';

const dir = mkdtempSync(join(tmpdir(), 'api-token-config-'));
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, '{"keys":[]}');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(env: NodeJS.ProcessEnv): string {
  try {
    loadEngineConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('API token configuration', () => {
  it('no token variables: API keys only', () => {
    expect(loadEngineConfig({}).api.jwt).toBeUndefined();
  });

  it('a JWKS file: the development issuer, audience referral-engine, 30 s tolerance, no maximum age by default', () => {
    expect(loadEngineConfig({ API_JWKS_FILE: jwksFile }).api.jwt).toEqual({ jwksFile, issuer: JWT_DEV_ISSUER, audience: 'referral-engine', clockToleranceSeconds: 30 });
  });

  it('a JWKS URL with its issuer, audience, maximum age and tolerance', () => {
    const env = { API_JWKS_URL: 'https://idp.example.test/jwks', API_JWT_ISSUER: 'https://idp.example.test/', API_JWT_AUDIENCE: 'engine', API_JWT_MAX_AGE: '3600', API_JWT_CLOCK_TOLERANCE: '5' };
    expect(loadEngineConfig(env).api.jwt).toEqual({ jwksUrl: env.API_JWKS_URL, issuer: env.API_JWT_ISSUER, audience: 'engine', maxAgeSeconds: 3600, clockToleranceSeconds: 5 });
    expect(loadEngineConfig({ API_JWKS_URL: 'http://127.0.0.1:9000/jwks', API_JWT_ISSUER: 'x' }).api.jwt?.jwksUrl).toBe('http://127.0.0.1:9000/jwks');
  });

  it('HS256 only with the explicit development switch', () => {
    const secret = 'a-development-secret-of-32-chars!!';
    expect(loadEngineConfig({ API_JWT_SECRET: secret, API_JWT_ALLOW_HS256: 'true' }).api.jwt).toMatchObject({ hs256DevSecret: secret });
    expect(problems({ API_JWT_SECRET: secret })).toMatch(/API_JWT_SECRET: HS256 tokens are for development only: set API_JWT_ALLOW_HS256=true/);
    expect(problems({ API_JWT_ALLOW_HS256: 'true' })).toMatch(/API_JWT_ALLOW_HS256: there is no API_JWT_SECRET/);
  });

  it('names every bad variable at once', () => {
    const message = problems({
      API_JWKS_FILE: join(dir, 'missing.json'),
      API_JWKS_URL: 'http://idp.example.test/jwks',
      API_JWT_MAX_AGE: '-1',
      API_JWT_CLOCK_TOLERANCE: 'soon',
      API_JWT_AUDIENCE: '',
      API_JWT_ALLOW_HS256: 'maybe',
    });
    for (const part of ['API_JWKS_FILE', 'API_JWKS_URL: expected an https URL', 'API_JWT_MAX_AGE', 'API_JWT_CLOCK_TOLERANCE', 'API_JWT_ALLOW_HS256', 'set either API_JWKS_FILE or API_JWKS_URL', 'API_JWT_ISSUER: required with API_JWKS_URL']) {
      expect(message).toContain(part);
    }
  });
});
