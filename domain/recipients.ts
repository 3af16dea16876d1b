/** Pseudo-recipient for the operators' event stream: every lifecycle event, no personal data. */
export const OPERATORS = 'OPERATORS';
