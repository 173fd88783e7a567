/** The TanStack Query client: no retry on 4xx answers (they will not change), one retry otherwise. */
import { QueryClient } from '@tanstack/react-query';

import { ApiError } from './api';

export function createQueryClient(options: { retry?: boolean } = {}): QueryClient {
  const retryAllowed = options.retry ?? true;
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        refetchOnWindowFocus: false,
        retry: (failures, error) =>
          retryAllowed && failures < 1 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      },
      mutations: { retry: false },
    },
  });
}
