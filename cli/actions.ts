import { actionEventTypes } from '../schemas/actions.js';

/** The API's action names: the event type without `referral.action.` and `.v1` (acknowledge, extend-deadline, ...). */
export const actionNames: readonly string[] = actionEventTypes.map((type) => type.replace(/^referral\.action\./, '').replace(/\.v1$/, ''));
