import type { CaseFlags } from '../schemas/intake.js';
import type { Priority } from '../schemas/common.js';

/** A minor or a victim at risk is urgent; a victim abroad or an organised network is high. */
export function priorityOf(flags: CaseFlags): Priority {
  if (flags.minor || flags.victimAtRisk) return 'URGENT';
  if (flags.victimAbroad || flags.organisedNetwork) return 'HIGH';
  return 'NORMAL';
}
