/** Dead letters: each stage's DLQ depth, and replay jobs (202 + Location, polled until they finish). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { api, type ReplayRequest } from '../../../lib/api';

export const JOB_POLL_MS = 1000;

export function useDlq() {
  return useQuery({ queryKey: ['dlq'], queryFn: ({ signal }) => api.dlq(signal), staleTime: 0 });
}

export const DEAD_LETTERS_SHOWN = 20;

/** The newest dead letters of one stage, with their reasons (peeked by the API, not consumed). */
export function useDeadLetters(stage: string) {
  return useQuery({
    queryKey: ['dlq', stage, 'messages'],
    queryFn: ({ signal }) => api.deadLetters(stage, DEAD_LETTERS_SHOWN, signal),
    enabled: !!stage,
    staleTime: 0,
  });
}

export function useStartReplay() {
  return useMutation({
    mutationFn: ({ stage, body }: { stage: string; body: ReplayRequest }) => api.replay(stage, body),
  });
}

/** The replay job at `location`, polled while it runs; the DLQ depths refresh when it ends. */
export function useReplayJob(location: string | null) {
  const client = useQueryClient();
  return useQuery({
    queryKey: ['replay', location],
    queryFn: async ({ signal }) => {
      const job = await api.replayJob(location ?? '', signal);
      if (job.state !== 'RUNNING') await client.invalidateQueries({ queryKey: ['dlq'] });
      return job;
    },
    enabled: !!location,
    staleTime: 0,
    refetchInterval: (query) => (query.state.data?.state === 'RUNNING' ? JOB_POLL_MS : false),
  });
}
