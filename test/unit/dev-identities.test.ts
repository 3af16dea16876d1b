import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IdentitiesFile } from '../../config/identities.js';
import { AgencyCode } from '../../schemas/common.js';

const dir = mkdtempSync(join(tmpdir(), 'dev-identities-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/dev-identities.ts', () => {
  it('writes an officer and a supervisor for every agency and committee, each with its own key', () => {
    const out = join(dir, 'identities.json');
    const keysFile = join(dir, 'api-keys.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/dev-identities.ts', '--out', out, '--keys', keysFile], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const { identities } = IdentitiesFile.parse(JSON.parse(readFileSync(out, 'utf8')));
    const keys = JSON.parse(readFileSync(keysFile, 'utf8')) as Record<string, string>;
    const agencies = AgencyCode.options.filter((a) => a !== 'PARTNER');
    const missing = agencies.flatMap((agency) =>
      (['officer', 'supervisor'] as const).filter((role) => !identities.some((i) => i.agency === agency && i.role === role)).map((role) => `${agency} ${role}`),
    );
    expect(missing).toEqual([]);
    expect(identities.find((i) => i.id === 'nccia-supervisor')).toMatchObject({ agency: 'NCCIA', role: 'supervisor' });
    expect(identities.filter((i) => i.role === 'partner').map((i) => i.organisation)).toEqual(['IOM', 'SSDO']);
    // Committees carry their jurisdiction: Lahore's and Gwadar's district committees, Punjab's and Balochistan's provincial ones.
    expect(identities.find((i) => i.id === 'ahtc-d-officer')?.jurisdiction).toEqual({ province: 'PUNJAB', district: 'LAHORE' });
    expect(identities.find((i) => i.id === 'ahtc-d-gwadar-supervisor')?.jurisdiction).toEqual({ province: 'BALOCHISTAN', district: 'GWADAR' });
    expect(identities.find((i) => i.id === 'ahtc-p-supervisor')?.jurisdiction).toEqual({ province: 'PUNJAB' });
    expect(identities.find((i) => i.id === 'ahtc-n-supervisor')?.jurisdiction).toBeUndefined();
    expect(identities.filter((i) => i.agency === 'AHTC-D' || i.agency === 'AHTC-P').every((i) => i.jurisdiction)).toBe(true);
    // Every identity has a key of its own, and the file holds only its hash.
    expect(Object.keys(keys).sort()).toEqual(identities.map((i) => i.id).sort());
    expect(new Set(Object.values(keys)).size).toBe(identities.length);
    expect(readFileSync(out, 'utf8')).not.toContain(Object.values(keys)[0]);
  });
});
