export { referralWorkflow } from './referral.js';
