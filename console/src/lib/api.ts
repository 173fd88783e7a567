/** The one client of the callpipe API: typed calls, the API key header, errors as `ApiError`, 401 → sign-in. */
import { getApiKey, signalUnauthorized } from './auth';
import type { components } from './schema';

type Schemas = components['schemas'];
/** A response model as the API sends it: the schema marks defaulted fields optional, the API always writes them. */
type Full<T> = T extends (infer U)[] ? Full<U>[] : T extends object ? { [K in keyof T]-?: Full<Exclude<T[K], undefined>> } : T;
type Out<Name extends keyof Schemas> = Full<Schemas[Name]>;

export type CallSummary = Out<'CallSummary'>;
export type CallPage = Out<'CallPage'>;
export type CallOut = Out<'CallOut'>;
export type CallRecord = Out<'CallRecord'>;
export type QaFlag = Out<'QaFlagOut'>;
export type ConversationMetrics = Out<'ConversationMetrics'>;
export type Transcript = Out<'TranscriptOut'>;
export type Turn = Out<'Turn'>;
export type RecordingLinks = Out<'RecordingLinks'>;
export type Summary = Out<'Summary'>;
export type Stats = Out<'Stats'>;
export type Group = Out<'Group'>;
export type Count = Out<'Count'>;
export type Journey = Out<'JourneyOut'>;
export type JourneyPage = Out<'JourneyPage'>;
export type JourneyStatus = Out<'JourneyStatusOut'>;
export type JourneyState = Schemas['JourneyState'];
export type StageCounters = Out<'StageCounters'>;
export type JourneyCreate =
  | Schemas['WindowJourneyCreate']
  | Schemas['TasksJourneyCreate']
  | Schemas['ReprocessJourneyCreate'];
export type DlqDepths = Out<'DlqDepths'>;
export type DeadLetterPage = Out<'DeadLetterPage'>;
export type DeadLetter = Out<'DeadLetterOut'>;
export type ReplayRequest = Schemas['DlqReplayRequest'];
export type ReplayJob = Out<'ReplayJobOut'>;
export type GroupBy = NonNullable<Schemas['AnalyticsSummaryQuery']['group_by']>;
export type ReportFormat = 'json' | 'csv' | 'html';

export const API_BASE = '/api/v1';

/** An error answer of the API (`{"error": {"code", "message"}}`) or a failure to reach it (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

interface RequestOptions {
  method?: 'GET' | 'POST';
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Use this key instead of the stored one (sign-in checks a key before keeping it). */
  apiKey?: string;
}

/** `path` (absolute, or relative to /api/v1) with the query's non-empty values. */
export function apiUrl(path: string, query: Query = {}): string {
  const base = path.startsWith('/') ? path : `${API_BASE}/${path}`;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const qs = params.toString();
  return qs ? `${base}?${qs}` : base;
}

async function errorOf(response: Response): Promise<ApiError> {
  let code = 'http_error';
  let message = `The API answered ${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.message === 'string') message = body.error.message;
    if (typeof body.error?.code === 'string') code = body.error.code;
  } catch {
    // not JSON (a proxy's error page): keep the status line
  }
  return new ApiError(response.status, code, message);
}

/** Send one request; a non-2xx answer throws `ApiError` (a 401 also forgets the key and returns to sign-in). */
export async function send(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  const key = options.apiKey ?? getApiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(apiUrl(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: options.signal ?? null,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the callpipe API. Is it running?');
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && options.apiKey === undefined) signalUnauthorized();
    throw error;
  }
  return response;
}

async function json<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options);
  return (await response.json()) as T;
}

export interface CallFilters {
  from?: string | undefined;
  to?: string | undefined;
  queue?: string | undefined;
  agent?: string | undefined;
  sentiment?: string | undefined;
  resolved?: string | undefined;
  topic?: string | undefined;
  qa_severity?: string | undefined;
}

export interface SummaryQuery {
  from: string;
  to: string;
  group_by: GroupBy;
}

export interface ReplayStarted {
  job: ReplayJob;
  location: string;
}

export const api = {
  /** 200 with the key, 401 without: whether the API accepts `key`. */
  async checkKey(key: string): Promise<boolean> {
    try {
      await send('journeys', { query: { limit: 1 }, apiKey: key });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return false;
      throw err;
    }
  },
  summary: (q: SummaryQuery, signal?: AbortSignal) =>
    json<Summary>('analytics/summary', { query: { ...q }, signal }),
  calls: (filters: CallFilters, cursor: string | undefined, limit: number, signal?: AbortSignal) =>
    json<CallPage>('calls', { query: { ...filters, cursor, limit }, signal }),
  call: (taskId: string, signal?: AbortSignal) =>
    json<CallOut>(`calls/${encodeURIComponent(taskId)}`, { signal }),
  transcript: (taskId: string, signal?: AbortSignal) =>
    json<Transcript>(`calls/${encodeURIComponent(taskId)}/transcript`, { signal }),
  recording: (taskId: string, signal?: AbortSignal) =>
    json<RecordingLinks>(`calls/${encodeURIComponent(taskId)}/recording`, { signal }),
  journeys: (cursor: string | undefined, signal?: AbortSignal) =>
    json<JourneyPage>('journeys', { query: { cursor, limit: 25 }, signal }),
  journey: (id: string, signal?: AbortSignal) =>
    json<JourneyStatus>(`journeys/${encodeURIComponent(id)}`, { signal }),
  createJourney: (body: JourneyCreate, idempotencyKey: string) =>
    json<Journey>('journeys', { method: 'POST', body, headers: { 'Idempotency-Key': idempotencyKey } }),
  cancelJourney: (id: string) => json<Journey>(`journeys/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
  async report(id: string, format: ReportFormat): Promise<Blob> {
    const response = await send(`journeys/${encodeURIComponent(id)}/report`, {
      query: { format },
      headers: { Accept: '*/*' },
    });
    return response.blob();
  },
  dlq: (signal?: AbortSignal) => json<DlqDepths>('dlq', { signal }),
  deadLetters: (stage: string, limit: number, signal?: AbortSignal) =>
    json<DeadLetterPage>(`dlq/${encodeURIComponent(stage)}/messages`, { query: { limit }, signal }),
  async replay(stage: string, body: ReplayRequest): Promise<ReplayStarted> {
    const response = await send(`dlq/${encodeURIComponent(stage)}/replay`, { method: 'POST', body });
    const job = (await response.json()) as ReplayJob;
    return { job, location: response.headers.get('Location') ?? `${API_BASE}/dlq/replays/${job.id}` };
  },
  replayJob: (location: string, signal?: AbortSignal) => json<ReplayJob>(location, { signal }),
};
