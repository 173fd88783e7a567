/** The analytics summary of a range of whole UTC days, as a query. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';

import { api, type GroupBy } from '../../../lib/api';
import { dayEnd, dayStart } from '../../../lib/dates';

export function useSummary(from: string, to: string, groupBy: GroupBy, enabled = true) {
  return useQuery({
    queryKey: ['summary', from, to, groupBy],
    queryFn: ({ signal }) => api.summary({ from: dayStart(from), to: dayEnd(to), group_by: groupBy }, signal),
    placeholderData: keepPreviousData,
    enabled,
  });
}
