/**
 * SLA deadlines, working-day arithmetic and escalation times. The shipped calendar and ladder are
 * read from config/policy.json, so these tests follow the real file (Asia/Karachi, UTC+5, no DST;
 * weekend Saturday and Sunday).
 */
import { describe, it, expect } from 'vitest';
import { addWorkingDays, isWorkingDay, localDate } from '../../domain/calendar.js';
import { deadlineAt, durationMs, escalationSchedule } from '../../domain/deadlines.js';
import type { Calendar, SlaStep } from '../../schemas/policy.js';
import { shippedPolicy } from '../support/fixtures.js';

const policy = shippedPolicy();
const calendar = policy.calendar;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Instants are written with their local offset so the wall time under test is visible. */
const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test instant ${iso}`);
  return ms;
};
/** Compare as ISO strings: a failure then shows the dates, not epoch numbers. */
const iso = (ms: number): string => new Date(ms).toISOString();

function sla(name: string): SlaStep {
  const step = policy.sla[name];
  if (!step) throw new Error(`config/policy.json has no sla.${name}`);
  return step;
}

const fiveWorkingDays: SlaStep = { deadline: { workingDays: 5 } };
const normal = { urgent: false, calendar };

describe('the shipped calendar', () => {
  it('is the one these tests assume', () => {
    expect(calendar.timeZone).toBe('Asia/Karachi');
    expect(calendar.weekend).toEqual([6, 7]);
    expect(calendar.holidays).toContain('2026-08-14');
    expect(sla('licenceCheck').deadline).toEqual({ workingDays: 5 });
  });

  it('knows working days, weekends and holidays', () => {
    expect(isWorkingDay('2026-10-05', calendar)).toBe(true); // Monday
    expect(isWorkingDay('2026-10-09', calendar)).toBe(true); // Friday
    expect(isWorkingDay('2026-10-10', calendar)).toBe(false); // Saturday
    expect(isWorkingDay('2026-10-11', calendar)).toBe(false); // Sunday
    expect(isWorkingDay('2026-08-14', calendar)).toBe(false); // Independence Day, a Friday
  });

  it('rejects a string that is not a date', () => {
    expect(() => isWorkingDay('2026-02-30', calendar)).toThrow(/not a calendar date/);
    expect(() => isWorkingDay('14/08/2026', calendar)).toThrow(/YYYY-MM-DD/);
  });
});

describe('hours and days: plain elapsed time', () => {
  const start = at('2026-10-05T10:00:00+05:00');

  it('acknowledge: 24 h normally', () => {
    expect(deadlineAt(start, sla('acknowledge'), normal) - start).toBe(24 * HOUR);
  });

  it('acknowledge: 4 h when urgent', () => {
    expect(deadlineAt(start, sla('acknowledge'), { urgent: true, calendar }) - start).toBe(4 * HOUR);
  });

  it('urgent falls back to the normal deadline when the step has no urgent one', () => {
    expect(deadlineAt(start, sla('screening'), { urgent: true, calendar }) - start).toBe(72 * HOUR);
  });

  it('days ignore weekends and holidays', () => {
    // Starts Monday 2026-08-10; the 14th is a holiday and the 15th/16th a weekend: still 7 × 24 h.
    const monday = at('2026-08-10T10:00:00+05:00');
    expect(deadlineAt(monday, sla('caseRegistration'), normal) - monday).toBe(7 * DAY);
  });

  it('durationMs converts hours and days', () => {
    expect(durationMs({ hours: 4 })).toBe(4 * HOUR);
    expect(durationMs({ hours: 0.5 })).toBe(HOUR / 2);
    expect(durationMs({ days: 30 })).toBe(30 * DAY);
  });

  it('durationMs throws for workingDays and points at deadlineAt', () => {
    expect(() => durationMs({ workingDays: 5 })).toThrow(/workingDays.*deadlineAt/);
  });
});

describe('working days', () => {
  it('5 working days from a Monday is the next Monday, same time of day', () => {
    const start = at('2026-10-05T10:00:00+05:00');
    expect(iso(deadlineAt(start, sla('licenceCheck'), normal))).toBe(iso(at('2026-10-12T10:00:00+05:00')));
  });

  it('5 working days from a Thursday crosses the weekend', () => {
    // Fri 9, Mon 12, Tue 13, Wed 14, Thu 15.
    const start = at('2026-10-08T14:30:00+05:00');
    expect(iso(deadlineAt(start, fiveWorkingDays, normal))).toBe(iso(at('2026-10-15T14:30:00+05:00')));
  });

  it('from a Saturday, counting starts on Monday', () => {
    // Mon 12 … Fri 16; the Saturday itself and the Sunday do not count.
    const saturday = at('2026-10-10T11:00:00+05:00');
    const sunday = at('2026-10-11T11:00:00+05:00');
    expect(iso(deadlineAt(saturday, fiveWorkingDays, normal))).toBe(iso(at('2026-10-16T11:00:00+05:00')));
    expect(iso(deadlineAt(sunday, fiveWorkingDays, normal))).toBe(iso(at('2026-10-16T11:00:00+05:00')));
  });

  it('from a holiday, counting starts on the next working day', () => {
    // Fri 14 Aug is a holiday: Mon 17 … Fri 21.
    const start = at('2026-08-14T09:00:00+05:00');
    expect(iso(addWorkingDays(start, 5, calendar))).toBe(iso(at('2026-08-21T09:00:00+05:00')));
  });

  it('a public holiday in the window moves the deadline one working day later', () => {
    // Mon 10 Aug: Tue 11, Wed 12, Thu 13, [Fri 14 Independence Day], Mon 17, Tue 18.
    const start = at('2026-08-10T10:00:00+05:00');
    const withoutHoliday: Calendar = { ...calendar, holidays: calendar.holidays.filter((d) => d !== '2026-08-14') };
    expect(iso(addWorkingDays(start, 5, withoutHoliday))).toBe(iso(at('2026-08-17T10:00:00+05:00')));
    expect(iso(deadlineAt(start, fiveWorkingDays, normal))).toBe(iso(at('2026-08-18T10:00:00+05:00')));
  });

  it('the local date decides, not the UTC date', () => {
    // 20:00 UTC on Thursday 8 Oct is 01:00 on Friday 9 Oct in Karachi: count from Friday.
    const start = at('2026-10-08T20:00:00Z');
    expect(localDate(start, 'Asia/Karachi')).toBe('2026-10-09');
    expect(localDate(start, 'UTC')).toBe('2026-10-08');
    // Mon 12 … Fri 16 at 01:00 local; counting from the UTC Thursday would end a day earlier.
    expect(iso(deadlineAt(start, fiveWorkingDays, normal))).toBe(iso(at('2026-10-16T01:00:00+05:00')));
    expect(iso(deadlineAt(start, fiveWorkingDays, normal))).toBe('2026-10-15T20:00:00.000Z');
  });

  it('a late-night UTC start that is a local Saturday counts from Monday', () => {
    // 19:30 UTC Friday = 00:30 Saturday in Karachi.
    const start = at('2026-10-09T19:30:00Z');
    expect(localDate(start, calendar.timeZone)).toBe('2026-10-10');
    expect(iso(addWorkingDays(start, 1, calendar))).toBe(iso(at('2026-10-12T00:30:00+05:00')));
  });

  it('a custom calendar with only Friday as weekend', () => {
    const fridayOff: Calendar = { timeZone: 'Asia/Karachi', weekend: [5], holidays: [] };
    expect(isWorkingDay('2026-10-09', fridayOff)).toBe(false);
    expect(isWorkingDay('2026-10-10', fridayOff)).toBe(true);
    expect(isWorkingDay('2026-10-11', fridayOff)).toBe(true);
    // From Thu 8 Oct: [Fri 9], Sat 10, Sun 11, Mon 12, Tue 13, Wed 14.
    const start = at('2026-10-08T10:00:00+05:00');
    expect(iso(deadlineAt(start, fiveWorkingDays, { urgent: false, calendar: fridayOff }))).toBe(
      iso(at('2026-10-14T10:00:00+05:00')),
    );
  });

  it('workingDays may be the urgent deadline too', () => {
    const step: SlaStep = { deadline: { days: 14 }, urgentDeadline: { workingDays: 1 } };
    const thursday = at('2026-10-08T10:00:00+05:00');
    expect(iso(deadlineAt(thursday, step, { urgent: true, calendar }))).toBe(iso(at('2026-10-09T10:00:00+05:00')));
    expect(deadlineAt(thursday, step, normal) - thursday).toBe(14 * DAY);
  });

  it('n = 0 is the start itself; a negative or fractional n is refused', () => {
    const start = at('2026-10-10T11:00:00+05:00');
    expect(addWorkingDays(start, 0, calendar)).toBe(start);
    expect(() => addWorkingDays(start, -1, calendar)).toThrow(RangeError);
    expect(() => addWorkingDays(start, 1.5, calendar)).toThrow(RangeError);
  });

  it('a calendar with no working day at all fails instead of looping', () => {
    const never: Calendar = { timeZone: 'UTC', weekend: [1, 2, 3, 4, 5, 6, 7], holidays: [] };
    expect(() => addWorkingDays(at('2026-10-05T10:00:00Z'), 1, never)).toThrow(/no working day/);
  });
});

describe('time zones with daylight saving time', () => {
  const london: Calendar = { timeZone: 'Europe/London', weekend: [6, 7], holidays: [] };
  const everyDay: Calendar = { timeZone: 'Europe/London', weekend: [], holidays: [] };

  it('keeps the local time of day across the late-October change (BST → GMT)', () => {
    // Thu 22 Oct 09:00 BST; clocks go back on Sun 25 Oct; Fri 23, Mon 26 … Thu 29 at 09:00 GMT.
    const start = at('2026-10-22T09:00:00+01:00');
    const deadline = deadlineAt(start, fiveWorkingDays, { urgent: false, calendar: london });
    expect(iso(deadline)).toBe(iso(at('2026-10-29T09:00:00+00:00')));
    expect(deadline - start).toBe(7 * DAY + HOUR);
  });

  it('keeps the local time of day across the late-March change (GMT → BST)', () => {
    // Thu 26 Mar 09:00 GMT; clocks go forward on Sun 29 Mar; Thu 2 Apr 09:00 BST.
    const start = at('2026-03-26T09:00:00+00:00');
    const deadline = addWorkingDays(start, 5, london);
    expect(iso(deadline)).toBe(iso(at('2026-04-02T09:00:00+01:00')));
    expect(deadline - start).toBe(7 * DAY - HOUR);
  });

  it('a local time skipped by the spring gap moves forward by the gap', () => {
    // 01:30 on Sun 29 Mar 2026 does not exist in London (01:00 GMT → 02:00 BST): 02:30 BST.
    const start = at('2026-03-28T01:30:00+00:00');
    expect(iso(addWorkingDays(start, 1, everyDay))).toBe(iso(at('2026-03-29T02:30:00+01:00')));
  });

  it('a local time repeated by the autumn overlap takes the earlier instant', () => {
    // 01:30 on Sun 25 Oct 2026 happens twice in London: first at 01:30 BST.
    const start = at('2026-10-24T01:30:00+01:00');
    expect(iso(addWorkingDays(start, 1, everyDay))).toBe(iso(at('2026-10-25T01:30:00+01:00')));
  });

  it('works west of UTC as well', () => {
    const newYork: Calendar = { timeZone: 'America/New_York', weekend: [6, 7], holidays: ['2026-11-26'] };
    // 02:00 UTC Friday 6 Nov is 21:00 EST Thursday 5 Nov; clocks went back on 1 Nov.
    const start = at('2026-11-06T02:00:00Z');
    expect(localDate(start, 'America/New_York')).toBe('2026-11-05');
    // Fri 6, Mon 9 at 21:00 EST.
    expect(iso(addWorkingDays(start, 2, newYork))).toBe(iso(at('2026-11-09T21:00:00-05:00')));
    // Over Thanksgiving: from Wed 25 Nov, [Thu 26], Fri 27, Mon 30.
    expect(iso(addWorkingDays(at('2026-11-25T12:00:00-05:00'), 2, newYork))).toBe(iso(at('2026-11-30T12:00:00-05:00')));
  });
});

describe('escalation schedule', () => {
  it('the shipped ladder over a 24 h deadline fires at 18, 24, 36, 48 and 72 h', () => {
    const start = at('2026-10-05T10:00:00+05:00');
    const deadline = deadlineAt(start, sla('acknowledge'), normal);
    const schedule = escalationSchedule(start, deadline, policy.escalationLadder);
    expect(schedule.map((s) => s.rung)).toEqual(policy.escalationLadder.map((r) => r.rung));
    expect(schedule.map((s) => (s.atMs - start) / HOUR)).toEqual([18, 24, 36, 48, 72]);
    expect(schedule).toEqual([
      { rung: 'reminder', recipient: 'ASSIGNED_OFFICER', alsoInformMinistries: false, atMs: start + 18 * HOUR },
      { rung: 'breach', recipient: 'HEAD_OF_UNIT', alsoInformMinistries: false, atMs: start + 24 * HOUR },
      { rung: 'district-committee', recipient: 'AHTC-D', alsoInformMinistries: false, atMs: start + 36 * HOUR },
      { rung: 'provincial-committee', recipient: 'AHTC-P', alsoInformMinistries: false, atMs: start + 48 * HOUR },
      { rung: 'national-committee', recipient: 'AHTC-N', alsoInformMinistries: true, atMs: start + 72 * HOUR },
    ]);
  });

  it('over a working-day deadline the fractions apply to the elapsed span', () => {
    // Thu 8 Oct 10:00 → Thu 15 Oct 10:00 is 7 × 24 h; breach at the deadline itself.
    const start = at('2026-10-08T10:00:00+05:00');
    const deadline = deadlineAt(start, fiveWorkingDays, normal);
    const schedule = escalationSchedule(start, deadline, policy.escalationLadder);
    expect(schedule[0]?.atMs).toBe(start + 0.75 * 7 * DAY);
    expect(schedule[1]?.atMs).toBe(deadline);
  });

  it('rounds to whole milliseconds and keeps ladder order', () => {
    const schedule = escalationSchedule(1_000, 1_003, [
      { rung: 'b', atFraction: 0.5, recipient: 'HEAD_OF_UNIT', alsoInformMinistries: false },
      { rung: 'a', atFraction: 0.25, recipient: 'ASSIGNED_OFFICER', alsoInformMinistries: false },
    ]);
    expect(schedule.map((s) => [s.rung, s.atMs])).toEqual([
      ['b', 1_002],
      ['a', 1_001],
    ]);
  });

  it('refuses a deadline before the start', () => {
    expect(() => escalationSchedule(2_000, 1_000, policy.escalationLadder)).toThrow(RangeError);
  });
});
