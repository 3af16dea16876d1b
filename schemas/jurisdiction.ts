import { z } from 'zod';
import { districtCode } from '../domain/jurisdiction.js';
import { Province } from './common.js';

/**
 * The districts of each province, as codes: the district's name in upper case with every run of
 * other characters than letters and digits as one "_" (`districtCode`): a referral reported in
 * "Lahore" or "lahore" belongs to LAHORE, "Dera Ghazi Khan" to DERA_GHAZI_KHAN. A committee's
 * jurisdiction names one of these; a referral's `facts.location.district` stays as reported and
 * is compared by its code, so a district that is not listed here has no district committee (its
 * provincial committee and the national one are still parties).
 */
export const districtsByProvince: Readonly<Record<Province, readonly string[]>> = {
  PUNJAB: [
    'ATTOCK', 'BAHAWALNAGAR', 'BAHAWALPUR', 'BHAKKAR', 'CHAKWAL', 'CHINIOT', 'DERA_GHAZI_KHAN', 'FAISALABAD', 'GUJRANWALA',
    'GUJRAT', 'HAFIZABAD', 'JHANG', 'JHELUM', 'KASUR', 'KHANEWAL', 'KHUSHAB', 'LAHORE', 'LAYYAH', 'LODHRAN', 'MANDI_BAHAUDDIN',
    'MIANWALI', 'MULTAN', 'MUZAFFARGARH', 'NANKANA_SAHIB', 'NAROWAL', 'OKARA', 'PAKPATTAN', 'RAHIM_YAR_KHAN', 'RAJANPUR',
    'RAWALPINDI', 'SAHIWAL', 'SARGODHA', 'SHEIKHUPURA', 'SIALKOT', 'TOBA_TEK_SINGH', 'VEHARI',
  ],
  SINDH: [
    'BADIN', 'DADU', 'GHOTKI', 'HYDERABAD', 'JACOBABAD', 'JAMSHORO', 'KARACHI_CENTRAL', 'KARACHI_EAST', 'KARACHI_SOUTH',
    'KARACHI_WEST', 'KEAMARI', 'KORANGI', 'MALIR', 'KASHMORE', 'KHAIRPUR', 'LARKANA', 'MATIARI', 'MIRPUR_KHAS',
    'NAUSHAHRO_FEROZE', 'SHAHEED_BENAZIRABAD', 'QAMBAR_SHAHDADKOT', 'SANGHAR', 'SHIKARPUR', 'SUJAWAL', 'SUKKUR',
    'TANDO_ALLAHYAR', 'TANDO_MUHAMMAD_KHAN', 'THARPARKAR', 'THATTA', 'UMERKOT',
  ],
  KHYBER_PAKHTUNKHWA: [
    'ABBOTTABAD', 'BAJAUR', 'BANNU', 'BATTAGRAM', 'BUNER', 'CHARSADDA', 'CHITRAL', 'DERA_ISMAIL_KHAN', 'HANGU', 'HARIPUR',
    'KARAK', 'KHYBER', 'KOHAT', 'KURRAM', 'LAKKI_MARWAT', 'LOWER_DIR', 'MALAKAND', 'MANSEHRA', 'MARDAN', 'MOHMAND',
    'NORTH_WAZIRISTAN', 'NOWSHERA', 'ORAKZAI', 'PESHAWAR', 'SHANGLA', 'SOUTH_WAZIRISTAN', 'SWABI', 'SWAT', 'TANK',
    'TORGHAR', 'UPPER_DIR', 'KOHISTAN',
  ],
  BALOCHISTAN: [
    'AWARAN', 'BARKHAN', 'CHAGAI', 'DERA_BUGTI', 'GWADAR', 'HARNAI', 'JAFFARABAD', 'JHAL_MAGSI', 'KACHHI', 'KALAT', 'KECH',
    'KHARAN', 'KHUZDAR', 'KILLA_ABDULLAH', 'KILLA_SAIFULLAH', 'KOHLU', 'LASBELA', 'LORALAI', 'MASTUNG', 'MUSAKHEL',
    'NASIRABAD', 'NUSHKI', 'PANJGUR', 'PISHIN', 'QUETTA', 'SHERANI', 'SIBI', 'SOHBATPUR', 'WASHUK', 'ZHOB', 'ZIARAT',
  ],
  ISLAMABAD: ['ISLAMABAD'],
  GILGIT_BALTISTAN: ['ASTORE', 'DIAMER', 'GHANCHE', 'GHIZER', 'GILGIT', 'HUNZA', 'KHARMANG', 'NAGAR', 'SHIGAR', 'SKARDU'],
  AZAD_KASHMIR: ['BAGH', 'BHIMBER', 'HATTIAN_BALA', 'HAVELI', 'KOTLI', 'MIRPUR', 'MUZAFFARABAD', 'NEELUM', 'POONCH', 'SUDHNOTI'],
};

/**
 * Where a committee (or any identity) acts: a province, and for a district committee one of its
 * districts (by code). The national committee has none: it acts for the whole country.
 */
export const Jurisdiction = z
  .object({
    province: Province,
    district: z.string().min(2).max(60).optional(),
  })
  .strict()
  .superRefine((j, ctx) => {
    if (j.district !== undefined && !districtsByProvince[j.province].includes(j.district)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['district'],
        message: `not a district code of ${j.province} (${districtCode(j.district) !== j.district ? `codes are upper case with "_", e.g. ${districtCode(j.district)}; ` : ''}see schemas/jurisdiction.ts)`,
      });
    }
  });
export type Jurisdiction = z.infer<typeof Jurisdiction>;

/** The jurisdiction a committee identity must carry: a district for AHTC-D, a province (only) for AHTC-P, none for AHTC-N. */
export function jurisdictionProblem(agency: string, jurisdiction: Jurisdiction | undefined): string | undefined {
  if (agency === 'AHTC-D') return jurisdiction?.district ? undefined : 'a district committee (AHTC-D) names its province and district';
  if (agency === 'AHTC-P') {
    if (!jurisdiction) return 'a provincial committee (AHTC-P) names its province';
    return jurisdiction.district ? 'a provincial committee (AHTC-P) names a province only, no district' : undefined;
  }
  if (agency === 'AHTC-N' && jurisdiction) return 'the national committee (AHTC-N) acts for the whole country: no jurisdiction';
  return undefined;
}
