import type { Calendar } from '../schemas/policy.js';

/**
 * Working-day arithmetic in a calendar's own time zone.
 *
 * Imported by workflow code, so everything here is deterministic: no clock, no I/O. Only
 * Intl.DateTimeFormat is used for zone data (the sandbox has full ICU). Local wall times are
 * handled as "wall ms": the local calendar date and time encoded as if they were UTC, so whole
 * local days can be stepped with plain arithmetic and converted back at the target date's offset.
 */

const DAY_MS = 86_400_000;

/** Working-day searches stop after this many consecutive non-working days: a calendar that never works is a config error, not a hang. */
const MAX_NON_WORKING_RUN = 3_660;

const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Formatters are costly to build; one per zone is reused. Cached state is pure, so replay-safe. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    // Throws RangeError for an unknown zone, which is what a bad policy should get.
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      // h23, not hour12:false: the latter prints midnight as "24" in some ICU versions.
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, fmt);
  }
  return fmt;
}

function assertInstant(ms: number, name: string): void {
  if (!Number.isFinite(ms)) throw new RangeError(`${name} must be a finite epoch-ms instant, got ${ms}`);
}

/** The local wall time at an instant, as wall ms (whole seconds: zone offsets never carry ms). */
function wallMsAt(instantMs: number, timeZone: string): number {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(instantMs)) parts[p.type] = p.value;
  const wall = Date.UTC(
    Number(parts['year']),
    Number(parts['month']) - 1,
    Number(parts['day']),
    Number(parts['hour']) % 24,
    Number(parts['minute']),
    Number(parts['second']),
  );
  return wall + (((instantMs % 1000) + 1000) % 1000);
}

/** The zone's UTC offset (ms, east positive) in force at an instant. */
function offsetAt(instantMs: number, timeZone: string): number {
  return wallMsAt(instantMs, timeZone) - instantMs;
}

/**
 * The instant at which the zone's clocks show a wall time. Offsets a day either side bracket any
 * single transition. Like Temporal's 'compatible' disambiguation: a wall time that occurs twice
 * (clocks go back) takes the earlier instant; one skipped by a gap (clocks go forward) is read
 * with the pre-gap offset, so it lands as far past the gap as it was into it.
 */
function instantOfWall(wallMs: number, timeZone: string): number {
  const before = offsetAt(wallMs - DAY_MS, timeZone);
  const after = offsetAt(wallMs + DAY_MS, timeZone);
  const candidates = [wallMs - before, wallMs - after].filter((t) => wallMsAt(t, timeZone) === wallMs);
  if (candidates.length > 0) return Math.min(...candidates);
  return wallMs - before;
}

function ymdOfWall(wallMs: number): string {
  const d = new Date(wallMs);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
}

function wallMidnightOf(dateYmd: string): number {
  const m = YMD.exec(dateYmd);
  if (!m) throw new RangeError(`expected a date as YYYY-MM-DD, got "${dateYmd}"`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 2026-02-30 over to March; a date that does not round-trip is not a date.
  if (ymdOfWall(wall) !== dateYmd) throw new RangeError(`not a calendar date: "${dateYmd}"`);
  return wall;
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a wall-ms midnight. 1970-01-01 was a Thursday (4). */
function isoWeekdayOfWall(wallMs: number): number {
  const days = Math.floor(wallMs / DAY_MS);
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

/** The calendar date ('YYYY-MM-DD') an instant falls on in a time zone. */
export function localDate(instantMs: number, timeZone: string): string {
  assertInstant(instantMs, 'instantMs');
  return ymdOfWall(wallMsAt(instantMs, timeZone));
}

/** A working day is neither a weekend day of the calendar nor one of its holidays. */
export function isWorkingDay(dateYmd: string, calendar: Calendar): boolean {
  const weekday = isoWeekdayOfWall(wallMidnightOf(dateYmd));
  return !calendar.weekend.includes(weekday) && !calendar.holidays.includes(dateYmd);
}

/**
 * The instant at the same local time of day as `fromMs`, on the n-th working day after the local
 * day `fromMs` falls on. The start day never counts, working or not, so a referral received on a
 * Saturday gets its first working day on Monday. The local date decides, not the UTC date. If
 * that local time does not exist or occurs twice on the target day (a DST change), see
 * instantOfWall. n = 0 returns `fromMs` unchanged.
 */
export function addWorkingDays(fromMs: number, n: number, calendar: Calendar): number {
  assertInstant(fromMs, 'fromMs');
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (n === 0) return fromMs;

  const startWall = wallMsAt(fromMs, calendar.timeZone);
  const timeOfDay = ((startWall % DAY_MS) + DAY_MS) % DAY_MS;
  let dayWall = startWall - timeOfDay;
  let remaining = n;
  let nonWorkingRun = 0;
  while (remaining > 0) {
    dayWall += DAY_MS;
    if (isWorkingDay(ymdOfWall(dayWall), calendar)) {
      remaining -= 1;
      nonWorkingRun = 0;
    } else if (++nonWorkingRun > MAX_NON_WORKING_RUN) {
      throw new RangeError(`calendar (${calendar.timeZone}) has no working day within ${MAX_NON_WORKING_RUN} days of ${ymdOfWall(startWall)}`);
    }
  }
  return instantOfWall(dayWall + timeOfDay, calendar.timeZone);
}

/**
 * The working days an extension from `fromMs` to `toMs` adds: the working days among the local
 * dates after `fromMs`'s up to `toMs`'s, and at least one (an extension of a few hours counts as a
 * day). Nothing for `toMs` <= `fromMs`.
 */
export function workingDaysAdded(fromMs: number, toMs: number, calendar: Calendar): number {
  assertInstant(fromMs, 'fromMs');
  assertInstant(toMs, 'toMs');
  if (toMs <= fromMs) return 0;
  const last = localDate(toMs, calendar.timeZone);
  let day = wallMidnightOf(localDate(fromMs, calendar.timeZone));
  let count = 0;
  for (;;) {
    day += DAY_MS;
    const ymd = ymdOfWall(day);
    if (ymd > last) break;
    if (isWorkingDay(ymd, calendar)) count += 1;
  }
  return Math.max(1, count);
}
