/** The call explorer: filters held in the URL, a cursor-paged table of analysed calls. */
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';

import { PageHeader } from '../../../components/Page';
import { useTitle } from '../../../lib/useTitle';
import { Empty, ErrorAlert, Loading } from '../../../components/States';
import type { CallSummary } from '../../../lib/api';
import { formatClock, formatDateTime, formatInt, humanize } from '../../../lib/format';
import { useCallPage } from '../api/calls';
import { readFilters, toApiFilters, withFilter, type FilterName } from '../api/filters';
import { CallFiltersForm } from './CallFiltersForm';

function SentimentBadge({ value }: { value: string }) {
  const tone = value.includes('negative') ? 'bad' : value.includes('positive') ? 'good' : 'neutral';
  return <span className={`badge badge-${tone}`}>{humanize(value)}</span>;
}

function CallRow({ call }: { call: CallSummary }) {
  return (
    <tr>
      <td className="nowrap">{formatDateTime(call.ended_at)}</td>
      <td>
        <Link to={`/calls/${encodeURIComponent(call.task_id)}`} className="mono">
          {call.task_id}
        </Link>
      </td>
      <td>{call.queue ?? '—'}</td>
      <td>{call.agent ?? '—'}</td>
      <td className="num">{formatClock(call.duration_s)}</td>
      <td className="truncate" title={call.reason_for_call}>
        {call.reason_for_call}
      </td>
      <td>
        <SentimentBadge value={call.customer_sentiment} />
      </td>
      <td>{call.resolved ? 'Yes' : 'No'}</td>
      <td className="num">
        {formatInt(call.qa_flags)}
        {call.qa_max_severity ? (
          <span className={`badge badge-sev-${call.qa_max_severity} spaced`}>{humanize(call.qa_max_severity)}</span>
        ) : null}
      </td>
    </tr>
  );
}

export function CallsPage() {
  useTitle('Calls');
  const [params, setParams] = useSearchParams();
  const values = readFilters(params);
  const cursor = params.get('cursor') ?? undefined;
  // cursors of the pages before this one (the API pages forward only)
  const [previous, setPrevious] = useState<(string | undefined)[]>([]);
  const page = useCallPage(toApiFilters(values), cursor);

  function changeFilter(name: FilterName, value: string) {
    setPrevious([]);
    setParams((current) => withFilter(current, name, value), { replace: name !== 'from' && name !== 'to' });
  }

  function goTo(next: string | undefined) {
    const url = new URLSearchParams(params);
    if (next) url.set('cursor', next);
    else url.delete('cursor');
    setParams(url);
  }

  const items = page.data?.items ?? [];
  const nextCursor = page.data?.next_cursor ?? null;

  return (
    <>
      <PageHeader title="Calls" subtitle="Analysed calls, newest first. Without dates: the last 7 days." />
      <CallFiltersForm
        values={values}
        onChange={changeFilter}
        onClear={() => {
          setPrevious([]);
          setParams(new URLSearchParams());
        }}
      />
      {page.isPending ? <Loading /> : null}
      {page.isError ? <ErrorAlert error={page.error} /> : null}
      {page.data && items.length === 0 ? (
        <Empty>
          {nextCursor
            ? 'No matching calls on this page; more may follow on the next one.'
            : 'No analysed calls match these filters.'}
        </Empty>
      ) : null}
      {items.length > 0 ? (
        <div className="panel table-wrap" aria-busy={page.isFetching}>
          <table className="table table-calls">
            <caption className="sr-only">Calls</caption>
            <thead>
              <tr>
                <th scope="col">Ended</th>
                <th scope="col">Call</th>
                <th scope="col">Queue</th>
                <th scope="col">Agent</th>
                <th scope="col" className="num">Duration</th>
                <th scope="col">Reason</th>
                <th scope="col">Customer</th>
                <th scope="col">Resolved</th>
                <th scope="col" className="num">QA flags</th>
              </tr>
            </thead>
            <tbody>
              {items.map((call) => (
                <CallRow key={call.task_id} call={call} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {page.data ? (
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            className="button"
            disabled={!cursor || page.isFetching}
            onClick={() => {
              const before = previous.slice(0, -1);
              const target = previous[previous.length - 1];
              setPrevious(before);
              goTo(target);
            }}
          >
            Previous page
          </button>
          <span className="muted small">
            {formatInt(items.length)} call{items.length === 1 ? '' : 's'} on this page
          </span>
          <button
            type="button"
            className="button"
            disabled={!nextCursor || page.isFetching}
            onClick={() => {
              if (!nextCursor) return;
              setPrevious([...previous, cursor]);
              goTo(nextCursor);
            }}
          >
            Next page
          </button>
        </nav>
      ) : null}
    </>
  );
}
