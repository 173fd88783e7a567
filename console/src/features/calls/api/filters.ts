/** The calls filters ↔ the URL query string (so a filtered view can be shared) ↔ the API's query. */
import type { CallFilters } from '../../../lib/api';
import { dayEnd, dayStart, isValidDay } from '../../../lib/dates';

export const FILTER_NAMES = ['from', 'to', 'queue', 'agent', 'sentiment', 'resolved', 'topic', 'qa_severity'] as const;
export type FilterName = (typeof FILTER_NAMES)[number];
export type FilterValues = Record<FilterName, string>;

export const SENTIMENT_OPTIONS = ['very_negative', 'negative', 'neutral', 'positive', 'very_positive'];
export const SEVERITY_OPTIONS = ['info', 'warning', 'critical'];
export const RESOLVED_OPTIONS = ['true', 'false'];

/** The filters a URL holds ('' for absent or unusable values). */
export function readFilters(params: URLSearchParams): FilterValues {
  const values = Object.fromEntries(FILTER_NAMES.map((name) => [name, params.get(name)?.trim() ?? ''])) as FilterValues;
  if (!isValidDay(values.from)) values.from = '';
  if (!isValidDay(values.to)) values.to = '';
  if (!SENTIMENT_OPTIONS.includes(values.sentiment)) values.sentiment = '';
  if (!SEVERITY_OPTIONS.includes(values.qa_severity)) values.qa_severity = '';
  if (!RESOLVED_OPTIONS.includes(values.resolved)) values.resolved = '';
  return values;
}

/** The URL after one filter changed: the other parameters kept, the page cursor dropped. */
export function withFilter(params: URLSearchParams, name: FilterName, value: string): URLSearchParams {
  const next = new URLSearchParams(params);
  if (value.trim()) next.set(name, value.trim());
  else next.delete(name);
  next.delete('cursor');
  return next;
}

/** The API's query for the filters: days become the ISO window (the `To` day included). */
export function toApiFilters(values: FilterValues): CallFilters {
  return {
    from: values.from ? dayStart(values.from) : undefined,
    to: values.to ? dayEnd(values.to) : undefined,
    queue: values.queue || undefined,
    agent: values.agent || undefined,
    sentiment: values.sentiment || undefined,
    resolved: values.resolved || undefined,
    topic: values.topic || undefined,
    qa_severity: values.qa_severity || undefined,
  };
}
