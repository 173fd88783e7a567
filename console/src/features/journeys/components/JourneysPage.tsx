/** Journeys: newest first with their state, and the form that starts one. */
import { useState } from 'react';
import { Link } from 'react-router';

import { PageHeader, Section } from '../../../components/Page';
import { useTitle } from '../../../lib/useTitle';
import { Empty, ErrorAlert, Loading } from '../../../components/States';
import type { Journey } from '../../../lib/api';
import { formatDateTime, humanize } from '../../../lib/format';
import { useJourneys } from '../api/journeys';
import { StateBadge } from './JourneyState';
import { RequireScope } from '../../auth/components/RequireScope';
import { StartJourneyForm } from './StartJourneyForm';

function scope(journey: Journey): string {
  const p = journey.params as Record<string, unknown>;
  const ids = p.task_ids;
  if (Array.isArray(ids)) return `${ids.length} task id${ids.length === 1 ? '' : 's'}`;
  const window = (p.window ?? p) as Record<string, unknown>;
  if (typeof window.from === 'string' && typeof window.to === 'string') {
    return `${formatDateTime(window.from)} → ${formatDateTime(window.to)}`;
  }
  return '—';
}

export function JourneysPage() {
  useTitle('Journeys');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const journeys = useJourneys(cursor);
  const items = journeys.data?.items ?? [];
  const next = journeys.data?.next_cursor ?? null;

  return (
    <>
      <PageHeader title="Journeys" subtitle="Each journey finds calls, then fetches, transcribes and analyses them." />
      <div className="journeys-layout">
        <Section title="Recent journeys">
          {journeys.isPending ? <Loading /> : null}
          {journeys.isError ? <ErrorAlert error={journeys.error} /> : null}
          {journeys.data && items.length === 0 ? <Empty>No journeys yet. Start one with the form.</Empty> : null}
          {items.length > 0 ? (
            <div className="table-wrap">
              <table className="table">
                <caption className="sr-only">Journeys</caption>
                <thead>
                  <tr>
                    <th scope="col">Journey</th>
                    <th scope="col">Kind</th>
                    <th scope="col">State</th>
                    <th scope="col">Scope</th>
                    <th scope="col">Created</th>
                    <th scope="col">By</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((j) => (
                    <tr key={j.id}>
                      <td>
                        <Link to={`/journeys/${encodeURIComponent(j.id)}`} className="mono">
                          {j.id}
                        </Link>
                      </td>
                      <td>{humanize(j.kind)}</td>
                      <td>
                        <StateBadge state={j.state} />
                      </td>
                      <td className="small">{scope(j)}</td>
                      <td className="nowrap">{formatDateTime(j.created_at)}</td>
                      <td className="small">{j.created_by}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {journeys.data && (next || cursors.length > 1) ? (
            <nav className="pager" aria-label="Pages">
              <button
                type="button"
                className="button"
                disabled={cursors.length <= 1}
                onClick={() => { setCursors(cursors.slice(0, -1)); }}
              >
                Previous page
              </button>
              <button
                type="button"
                className="button"
                disabled={!next}
                onClick={() => { if (next) setCursors([...cursors, next]); }}
              >
                Next page
              </button>
            </nav>
          ) : null}
        </Section>
        <RequireScope scope="operate">
          <StartJourneyForm />
        </RequireScope>
      </div>
    </>
  );
}
