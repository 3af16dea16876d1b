import { z } from 'zod';

/** Agencies and bodies that take part in a referral (codes from the domain brief). */
export const AgencyCode = z.enum([
  'FIA',
  'NCCIA',
  'PTA',
  'PKCERT',
  'BEOE',
  'OEC',
  'POLICE',
  'SWD',
  'PROSECUTION',
  'MOI',
  'MOPHRD',
  'MOFA',
  'AHTC-D',
  'AHTC-P',
  'AHTC-N',
  'NGO_HOTLINE',
  'EMBASSY',
  'PARTNER',
]);
export type AgencyCode = z.infer<typeof AgencyCode>;

export const CaseType = z.enum(['TRAFFICKING', 'SMUGGLING', 'FRAUDULENT_JOB_AD']);
export type CaseType = z.infer<typeof CaseType>;

/** What a detecting agency may report: a case type, or "UNKNOWN" for screening to decide. */
export const ReportedCaseType = z.enum([...CaseType.options, 'UNKNOWN']);
export type ReportedCaseType = z.infer<typeof ReportedCaseType>;

export const Province = z.enum(['PUNJAB', 'SINDH', 'KHYBER_PAKHTUNKHWA', 'BALOCHISTAN', 'ISLAMABAD', 'GILGIT_BALTISTAN', 'AZAD_KASHMIR']);
export type Province = z.infer<typeof Province>;

export const Priority = z.enum(['URGENT', 'HIGH', 'NORMAL']);
export type Priority = z.infer<typeof Priority>;

/** A referral id: stable, URL- and workflow-id-safe. */
export const ReferralId = z
  .string()
  .min(6)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only');
export type ReferralId = z.infer<typeof ReferralId>;

export const IsoDateTime = z.string().datetime({ offset: true });
export type IsoDateTime = z.infer<typeof IsoDateTime>;
