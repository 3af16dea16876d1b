import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { sha256Hex } from '../api/auth.js';
import type { ApiRole, Identity } from '../config/identities.js';

/**
 * Development identities for the local stack: one per agency role the demo needs. Writes the
 * hashed identities (what the API reads) and, separately, the plain keys for the developer
 * (mode 600). Never overwrites: the keys stay the same across restarts.
 */
const people: Array<{ id: string; agency: string; role: ApiRole; organisation?: string }> = [
  { id: 'fia-officer', agency: 'FIA', role: 'officer' },
  { id: 'fia-supervisor', agency: 'FIA', role: 'supervisor' },
  { id: 'nccia-officer', agency: 'NCCIA', role: 'officer' },
  { id: 'police-officer', agency: 'POLICE', role: 'officer' },
  { id: 'swd-officer', agency: 'SWD', role: 'officer' },
  { id: 'pta-officer', agency: 'PTA', role: 'officer' },
  { id: 'beoe-officer', agency: 'BEOE', role: 'officer' },
  { id: 'prosecution-officer', agency: 'PROSECUTION', role: 'officer' },
  { id: 'ahtc-d-chair', agency: 'AHTC-D', role: 'supervisor' },
  { id: 'operator', agency: 'MOI', role: 'operator' },
  { id: 'admin', agency: 'MOI', role: 'admin' },
  { id: 'iom-caseworker', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
  { id: 'ssdo-caseworker', agency: 'PARTNER', role: 'partner', organisation: 'SSDO' },
];

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' }, keys: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: tsx scripts/dev-identities.ts --out .stack/identities.json --keys .stack/api-keys.json');
    return;
  }
  const out = values.out ?? '.stack/identities.json';
  const keysFile = values.keys ?? '.stack/api-keys.json';
  if (existsSync(out)) {
    console.log(`identities: ${out} exists (development API keys in ${keysFile})`);
    return;
  }
  const keys: Record<string, string> = {};
  const identities: Identity[] = people.map((p) => {
    const key = `dev_${p.id}_${randomBytes(18).toString('base64url')}`;
    keys[p.id] = key;
    return { ...p, keySha256: sha256Hex(key) };
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ identities }, null, 2));
  writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  console.log(`identities: wrote ${identities.length} development identities to ${out}; their API keys are in ${keysFile}`);
}

main();
