/** Number, date and duration formatting shared by every page. */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2 });
const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

export const DASH = '—';

export function formatInt(value: number | null | undefined): string {
  return value === null || value === undefined ? DASH : integer.format(value);
}

export function formatDecimal(value: number | null | undefined): string {
  return value === null || value === undefined ? DASH : decimal.format(value);
}

export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return value > 0 && value < 0.01 ? `< ${money.format(0.01)}` : money.format(value);
}

export function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? DASH : `${decimal.format(ratio * 100)} %`;
}

/** `m:ss` (or `h:mm:ss`) of a number of seconds. */
export function formatClock(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** An ISO timestamp as a short UTC date and time. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${dateTime.format(at)} UTC`;
}

/** `very_negative` → `Very negative`. */
export function humanize(value: string | null | undefined): string {
  if (!value) return DASH;
  const words = value.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A transcript speaker label: `agent` → `Agent`, `agent2` → `Agent 2`. */
export function speakerName(speaker: string): string {
  const match = /^([a-z_]+?)(\d+)?$/i.exec(speaker.trim());
  if (!match?.[1]) return humanize(speaker);
  return match[2] ? `${humanize(match[1])} ${match[2]}` : humanize(match[1]);
}
