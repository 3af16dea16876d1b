import type { ReferralDetectedV1 } from '../../schemas/intake.js';

/** Realistic sample referrals for the demo and tests. The persons are fictitious. */
export function sampleReferrals(suffix: string, now = new Date()): ReferralDetectedV1[] {
  const detectedAt = now.toISOString();
  return [
    {
      referralId: `FJA-${suffix}-1`,
      sourceAgency: 'NCCIA',
      detectedAt,
      facts: {
        caseType: 'FRAUDULENT_JOB_AD',
        flags: { minor: false, victimAbroad: false, victimAtRisk: false, organisedNetwork: true, crossBorder: true },
        location: { province: 'PUNJAB', district: 'Gujrat' },
        indicators: ['unlicensed promoter', 'visa fee demanded upfront', 'salary far above market'],
        online: { platform: 'social-media', url: 'https://example.invalid/jobs/driver-abroad-4021' },
        victimCount: 12,
        summary: 'Advertisement offering driver jobs abroad for an upfront visa fee; advertiser not on the licensed promoter list.',
      },
      persons: [
        { role: 'COMPLAINANT', name: 'Sample Complainant A', age: 27, contact: '+92-300-0000001', location: 'Mohalla 4, Gujrat' },
      ],
    },
    {
      referralId: `TIP-${suffix}-2`,
      sourceAgency: 'FIA',
      detectedAt,
      facts: {
        caseType: 'TRAFFICKING',
        flags: { minor: true, victimAbroad: false, victimAtRisk: true, organisedNetwork: false, crossBorder: true },
        location: { province: 'SINDH', district: 'Karachi South' },
        indicators: ['minor travelling without guardian', 'documents held by escort', 'inconsistent travel story'],
        victimCount: 1,
        summary: 'Minor intercepted at the airport immigration desk with an escort holding her documents.',
      },
      persons: [
        { role: 'VICTIM', name: 'Sample Victim B', age: 15, gender: 'female', nationality: 'PK', health: 'dehydrated', location: 'airport holding room' },
        { role: 'SUSPECT', name: 'Sample Suspect C', age: 41 },
      ],
    },
    {
      referralId: `SOM-${suffix}-3`,
      sourceAgency: 'FIA',
      detectedAt,
      facts: {
        caseType: 'SMUGGLING',
        flags: { minor: false, victimAbroad: true, victimAtRisk: false, organisedNetwork: true, crossBorder: true },
        location: { province: 'BALOCHISTAN', district: 'Gwadar' },
        indicators: ['payment to agent for irregular entry', 'boat departure planned'],
        victimCount: 6,
        summary: 'Group of migrants promised passage by boat; agent network spans two provinces.',
      },
      persons: [{ role: 'VICTIM', name: 'Sample Migrant D', age: 23, nationality: 'PK' }],
    },
  ];
}
