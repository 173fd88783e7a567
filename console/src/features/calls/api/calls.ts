/** Queries of the call explorer: a page of calls, one call, its transcript and its recording links. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';

import { api, type CallFilters } from '../../../lib/api';

export const PAGE_SIZE = 50;

export function useCallPage(filters: CallFilters, cursor: string | undefined) {
  return useQuery({
    queryKey: ['calls', filters, cursor],
    queryFn: ({ signal }) => api.calls(filters, cursor, PAGE_SIZE, signal),
    placeholderData: keepPreviousData,
  });
}

export function useCall(taskId: string) {
  return useQuery({ queryKey: ['call', taskId], queryFn: ({ signal }) => api.call(taskId, signal) });
}

export function useTranscript(taskId: string, enabled: boolean) {
  return useQuery({
    queryKey: ['transcript', taskId],
    queryFn: ({ signal }) => api.transcript(taskId, signal),
    enabled,
  });
}

export function useRecording(taskId: string, enabled: boolean) {
  return useQuery({
    queryKey: ['recording', taskId],
    queryFn: ({ signal }) => api.recording(taskId, signal),
    enabled,
    staleTime: 4 * 60_000, // presigned for 5 minutes
  });
}
