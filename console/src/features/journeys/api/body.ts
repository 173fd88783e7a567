/** The body of `POST /api/v1/journeys` from the start form's values. */
import type { JourneyCreate } from '../../../lib/api';

export type Kind = 'window' | 'tasks' | 'reprocess';

/** `datetime-local` value of a moment (local time, minutes). */
export function localInput(at: Date): string {
  const shifted = new Date(at.getTime() - at.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

function isoOf(local: string): string {
  return new Date(local).toISOString();
}

export function parseTaskIds(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((id) => id.trim()).filter(Boolean))];
}

/** The request body of the form's values, or a message saying what is missing. */
export function journeyBody(
  kind: Kind,
  values: { from: string; to: string; taskIds: string; pipelineVersion: string },
): JourneyCreate | string {
  const ids = parseTaskIds(values.taskIds);
  if (kind === 'tasks') {
    return ids.length ? { kind: 'tasks', task_ids: ids } : 'Enter at least one task id.';
  }
  if (!values.from || !values.to) return 'Enter both ends of the window.';
  if (new Date(values.from) >= new Date(values.to)) return '"From" must be before "To".';
  if (kind === 'window') return { kind: 'window', from: isoOf(values.from), to: isoOf(values.to) };
  const version = Number(values.pipelineVersion);
  if (!Number.isInteger(version) || version < 1) return 'The pipeline version is a whole number from 1.';
  return ids.length
    ? { kind: 'reprocess', pipeline_version: version, task_ids: ids }
    : { kind: 'reprocess', pipeline_version: version, window: { from: isoOf(values.from), to: isoOf(values.to) } };
}
