import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { Jurisdiction, jurisdictionProblem } from '../schemas/jurisdiction.js';
import { ConfigError, describeIssues } from './errors.js';

/** The `aud` a token must carry unless API_JWT_AUDIENCE says otherwise. */
export const JWT_DEFAULT_AUDIENCE = 'referral-engine';
/** The `iss` of the tokens scripts/dev-identities.ts signs, and API_JWT_ISSUER's default (not with API_JWKS_URL). */
export const JWT_DEV_ISSUER = 'urn:referral-engine:dev-identities';

/** Roles an API caller can hold; the workflows' actor roles are the same names in upper case. */
export const ApiRole = z.enum(['officer', 'supervisor', 'operator', 'partner', 'admin']);
export type ApiRole = z.infer<typeof ApiRole>;

/** One API identity: an agency's or partner's officer, with a hashed key (the key itself is never stored). */
export const Identity = z
  .object({
    id: z.string().min(1).max(100),
    agency: z.string().min(2).max(20),
    role: ApiRole,
    organisation: z.string().min(2).max(40).optional(),
    /**
     * Where the identity acts: a district committee's province and district, a provincial committee's
     * province. A district or provincial committee without one is a party to no referral.
     */
    jurisdiction: Jurisdiction.optional(),
    keySha256: z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the API key, 64 hex digits'),
  })
  .strict()
  .refine((i) => i.role !== 'partner' || (i.agency === 'PARTNER' && i.organisation), {
    message: 'a partner identity has agency PARTNER and an organisation',
    path: ['organisation'],
  })
  .superRefine((i, ctx) => {
    // A committee identity without one (a file from before jurisdictions) is a party to nothing.
    const problem = i.jurisdiction !== undefined ? jurisdictionProblem(i.agency, i.jurisdiction) : undefined;
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['jurisdiction'], message: problem });
  });
export type Identity = z.infer<typeof Identity>;

export const IdentitiesFile = z.object({ identities: z.array(Identity).min(1) }).strict();
export type IdentitiesFile = z.infer<typeof IdentitiesFile>;

export async function loadIdentities(path: string): Promise<Identity[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(path, [`cannot read identities: ${(err as Error).message} (npm start creates development identities in .stack/)`]);
  }
  const parsed = IdentitiesFile.safeParse(raw);
  if (!parsed.success) throw new ConfigError(path, describeIssues(parsed.error));
  const ids = new Set<string>();
  const problems: string[] = [];
  parsed.data.identities.forEach((identity, i) => {
    if (ids.has(identity.id)) problems.push(`identities.${i}.id: duplicate "${identity.id}"`);
    ids.add(identity.id);
  });
  if (problems.length > 0) throw new ConfigError(path, problems);
  return parsed.data.identities;
}
