import { readFile } from 'node:fs/promises';
import { authorityActions, Policy, slaStepNames } from '../schemas/policy.js';
import { ConfigError, describeIssues } from './errors.js';

/** Parses a policy document, naming every bad field. The source names the file in errors. */
export function parsePolicy(raw: unknown, source: string): Policy {
  const parsed = Policy.safeParse(raw);
  if (!parsed.success) throw new ConfigError(source, describeIssues(parsed.error));
  const problems = checkPolicyConsistency(parsed.data);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return parsed.data;
}

/** Rules that zod's shape cannot say: unique ids, an increasing ladder, every lifecycle step timed. */
function checkPolicyConsistency(policy: Policy): string[] {
  const problems: string[] = [];
  for (const step of slaStepNames) {
    if (!policy.sla[step]) problems.push(`sla.${step}: missing (every lifecycle step needs a deadline)`);
  }
  const seen = new Set<string>();
  policy.chargeMatrix.forEach((rule, i) => {
    if (seen.has(rule.id)) problems.push(`chargeMatrix.${i}.id: duplicate rule id "${rule.id}"`);
    seen.add(rule.id);
  });
  policy.escalationLadder.forEach((rung, i) => {
    const previous = policy.escalationLadder[i - 1];
    if (previous && rung.atFraction <= previous.atFraction) {
      problems.push(`escalationLadder.${i}.atFraction: must be greater than the rung before (${previous.atFraction})`);
    }
  });
  if (policy.authority) {
    for (const action of authorityActions) {
      if (!policy.authority.actions[action]) problems.push(`authority.actions.${action}: missing (every action needs its row; [] for nobody)`);
    }
    for (const step of Object.keys(policy.authority.extensions.steps)) {
      if (!policy.sla[step]) problems.push(`authority.extensions.steps.${step}: not a step of sla`);
    }
  }
  return problems;
}

export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parsePolicy(raw, path);
}
