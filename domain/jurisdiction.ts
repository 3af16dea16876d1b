/**
 * Committees act for a territory: a district committee (AHTC-D) for its district's referrals, a
 * provincial committee (AHTC-P) for its province's, the national committee (AHTC-N) for all. One
 * rule, used by the workflows' validators, the API's access check and list, and the codec
 * server's decode policy: a referral's parties name its committees qualified by its location
 * (`AHTC-D:PUNJAB:LAHORE`, `AHTC-P:PUNJAB`, `AHTC-N`), and a committee is a party when the entry
 * of its own jurisdiction is among them. Plain functions, no imports: workflow code uses them.
 */

export const DISTRICT_COMMITTEE = 'AHTC-D';
export const PROVINCIAL_COMMITTEE = 'AHTC-P';
export const NATIONAL_COMMITTEE = 'AHTC-N';
export const COMMITTEES: readonly string[] = [DISTRICT_COMMITTEE, PROVINCIAL_COMMITTEE, NATIONAL_COMMITTEE];

/** Where a referral happened, as its facts say (`district` as reported). */
export interface Location {
  province: string;
  district: string;
}

/** Where an identity acts: a province and, for a district committee, a district code. */
export interface JurisdictionRef {
  province: string;
  district?: string;
}

/** Who may be a party: an agency, and its jurisdiction when it is a committee. */
export interface PartyCandidate {
  agency: string;
  jurisdiction?: JurisdictionRef | undefined;
}

/** A district's code: upper case, every run of other characters than letters and digits one "_" ("Dera Ghazi Khan" → DERA_GHAZI_KHAN). */
export function districtCode(name: string): string {
  return name
    .trim()
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export function isCommittee(agency: string): boolean {
  return COMMITTEES.includes(agency);
}

/** The party entry of a committee for a referral at `location`: `AHTC-D:PUNJAB:LAHORE`, `AHTC-P:PUNJAB`, `AHTC-N`. */
export function committeeEntry(committee: string, location: Location): string {
  if (committee === DISTRICT_COMMITTEE) return `${DISTRICT_COMMITTEE}:${location.province}:${districtCode(location.district)}`;
  if (committee === PROVINCIAL_COMMITTEE) return `${PROVINCIAL_COMMITTEE}:${location.province}`;
  return committee;
}

/** The committees of a referral's jurisdiction, as party entries. */
export function committeesOf(location: Location): string[] {
  return COMMITTEES.map((c) => committeeEntry(c, location));
}

/**
 * The party list of a referral: the agencies given (lead, supporting, informed, source…), every
 * committee among them qualified by the location, and the three committees of its jurisdiction.
 */
export function partiesAt(agencies: readonly string[], location: Location): string[] {
  return [...new Set([...agencies.filter((a) => !isCommittee(a)), ...committeesOf(location)])];
}

/** The entry a candidate must find among the parties: its agency, or its committee's jurisdiction entry (none when it has no usable jurisdiction). */
export function partyEntryOf(candidate: PartyCandidate): string | undefined {
  const { agency, jurisdiction } = candidate;
  if (agency === DISTRICT_COMMITTEE) return jurisdiction?.province && jurisdiction.district ? `${DISTRICT_COMMITTEE}:${jurisdiction.province}:${jurisdiction.district}` : undefined;
  if (agency === PROVINCIAL_COMMITTEE) return jurisdiction?.province && !jurisdiction.district ? `${PROVINCIAL_COMMITTEE}:${jurisdiction.province}` : undefined;
  return agency;
}

/**
 * Whether a caller (an API principal, a workflow actor) is a party to a referral with these
 * parties (its `Parties` search attribute, or partiesAt()). A district or provincial committee
 * without a jurisdiction is a party to nothing.
 */
export function isParty(candidate: PartyCandidate, parties: readonly string[]): boolean {
  const entry = partyEntryOf(candidate);
  return entry !== undefined && parties.includes(entry);
}

/**
 * A `Parties` list written before committees were qualified named every committee bare
 * (`AHTC-D`, `AHTC-P`): this gives it the entries of the referral's own jurisdiction instead, so
 * isParty() decides old referrals by the same rule. A qualified list is returned as it is.
 */
export function withJurisdiction(parties: readonly string[], location: Location | undefined): string[] {
  const legacy = parties.some((p) => p === DISTRICT_COMMITTEE || p === PROVINCIAL_COMMITTEE);
  if (!legacy) return [...parties];
  const others = parties.filter((p) => p !== DISTRICT_COMMITTEE && p !== PROVINCIAL_COMMITTEE);
  return location ? [...new Set([...others, ...committeesOf(location)])] : others;
}

/**
 * The topic suffix of a committee's own notifications for a referral at `location`
 * (`ahtc-d.punjab.lahore`, `ahtc-p.punjab`, `ahtc-n`): the escalation ladder climbs within the
 * referral's territory and never reaches another district's committee.
 */
export function committeeTopicSuffix(committee: string, location: Location): string {
  return committeeEntry(committee, location).toLowerCase().replace(/:/g, '.');
}
