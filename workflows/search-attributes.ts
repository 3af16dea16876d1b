import type { SearchAttributePair } from '@temporalio/common';

type SearchAttributeKey<T extends SearchAttributePair['key']['type']> = { name: string; type: T };

/**
 * Custom search attributes operators filter by in the Web UI. Stored unencrypted by Temporal:
 * they must never hold personal data. Registered by `npm run stack -- up` and docker-compose.
 */
export const StageKey: SearchAttributeKey<'KEYWORD'> = { name: 'ReferralStage', type: 'KEYWORD' };
export const CaseTypeKey: SearchAttributeKey<'KEYWORD'> = { name: 'CaseType', type: 'KEYWORD' };
export const LeadAgencyKey: SearchAttributeKey<'KEYWORD'> = { name: 'LeadAgency', type: 'KEYWORD' };
export const ProvinceKey: SearchAttributeKey<'KEYWORD'> = { name: 'Province', type: 'KEYWORD' };
export const DistrictKey: SearchAttributeKey<'KEYWORD'> = { name: 'District', type: 'KEYWORD' };
export const PriorityKey: SearchAttributeKey<'KEYWORD'> = { name: 'Priority', type: 'KEYWORD' };
export const SlaBreachedKey: SearchAttributeKey<'BOOL'> = { name: 'SlaBreached', type: 'BOOL' };
export const NextDeadlineKey: SearchAttributeKey<'DATETIME'> = { name: 'NextDeadline', type: 'DATETIME' };
/** Agency codes that are party to the referral: an agency's API view filters on it. */
export const PartiesKey: SearchAttributeKey<'KEYWORD_LIST'> = { name: 'Parties', type: 'KEYWORD_LIST' };
/**
 * Partner organisations with an open task on the referral's protection track (set on the track's
 * workflow, absent when none): `/partner/tasks` lists an organisation's referrals by it.
 */
export const PartnerTasksOpenKey: SearchAttributeKey<'KEYWORD_LIST'> = { name: 'PartnerTasksOpen', type: 'KEYWORD_LIST' };

/** name=TYPE pairs as `temporal server start-dev --search-attribute` takes them. */
export const searchAttributeDefinitions: ReadonlyArray<SearchAttributeKey<'KEYWORD' | 'BOOL' | 'DATETIME' | 'KEYWORD_LIST'>> = [
  StageKey,
  CaseTypeKey,
  LeadAgencyKey,
  ProvinceKey,
  DistrictKey,
  PriorityKey,
  SlaBreachedKey,
  NextDeadlineKey,
  PartiesKey,
  PartnerTasksOpenKey,
];
