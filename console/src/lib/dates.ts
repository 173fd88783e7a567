/** Dates of the range inputs (`YYYY-MM-DD`, whole UTC days) and the API's ISO window for them. */

const DAY_MS = 86_400_000;

export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function isValidDay(day: string | null | undefined): day is string {
  return !!day && /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(`${day}T00:00:00Z`));
}

/** The last `days` UTC days up to and including today. */
export function lastDays(days: number, now: Date = new Date()): { from: string; to: string } {
  return { from: isoDay(new Date(now.getTime() - (days - 1) * DAY_MS)), to: isoDay(now) };
}

/** Start of a day (inclusive) as the API's `from`. */
export function dayStart(day: string): string {
  return `${day}T00:00:00Z`;
}

/** End of a day (the next midnight, exclusive) as the API's `to`: the `To` day is included. */
export function dayEnd(day: string): string {
  return `${isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS))}T00:00:00Z`;
}
