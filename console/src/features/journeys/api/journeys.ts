/** Journeys: the list, one journey's status (polled every 2 s while it runs), start, cancel, report download. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { api, type JourneyCreate, type ReportFormat } from '../../../lib/api';

export const POLL_MS = 2000;

export function useJourneys(cursor: string | undefined) {
  return useQuery({
    queryKey: ['journeys', cursor],
    queryFn: ({ signal }) => api.journeys(cursor, signal),
    refetchInterval: (query) =>
      query.state.data?.items.some((j) => j.state === 'RUNNING') ? POLL_MS * 2 : false,
  });
}

export function useJourney(id: string) {
  return useQuery({
    queryKey: ['journey', id],
    queryFn: ({ signal }) => api.journey(id, signal),
    refetchInterval: (query) => (query.state.data?.journey.state === 'RUNNING' ? POLL_MS : false),
    staleTime: 0,
  });
}

export function useStartJourney() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ body, idempotencyKey }: { body: JourneyCreate; idempotencyKey: string }) =>
      api.createJourney(body, idempotencyKey),
    onSuccess: () => client.invalidateQueries({ queryKey: ['journeys'] }),
  });
}

export function useCancelJourney(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.cancelJourney(id),
    onSuccess: () => client.invalidateQueries({ queryKey: ['journey', id] }),
  });
}

/** Fetch a report with the API key and hand it to the browser as a download. */
export async function downloadReport(id: string, format: ReportFormat): Promise<void> {
  const blob = await api.report(id, format);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `journey-${id}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 10_000);
}
