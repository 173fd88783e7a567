/** The dashboard: the analytics summary of a range (cards, charts, a breakdown by the chosen dimension). */
import { lazy, Suspense } from 'react';
import { useSearchParams } from 'react-router';

import { Bars } from '../../../components/Bars';
import { PageHeader, Section } from '../../../components/Page';
import { useTitle } from '../../../lib/useTitle';
import { Stat } from '../../../components/Stat';
import { Empty, ErrorAlert, Loading } from '../../../components/States';
import type { Count, GroupBy, Stats } from '../../../lib/api';
import { isValidDay, lastDays } from '../../../lib/dates';
import {
  formatClock,
  formatDecimal,
  formatInt,
  formatPercent,
  formatUsd,
  humanize,
} from '../../../lib/format';
import { useSummary } from '../api/summary';
import { BreakdownTable } from './BreakdownTable';

const Charts = lazy(() => import('./DashboardCharts'));

const GROUP_BYS: GroupBy[] = ['day', 'queue', 'agent', 'topic', 'sentiment'];
const SEVERITIES = ['critical', 'warning', 'info'];

function isGroupBy(value: string | null): value is GroupBy {
  return GROUP_BYS.includes(value as GroupBy);
}

function counts(items: Count[]) {
  return items.map((c) => ({ label: c.value, value: c.calls }));
}

function TalkSilence({ totals }: { totals: Stats }) {
  const parts = [
    { label: 'Agent talk', value: totals.avg_agent_talk_s, tone: 'agent' },
    { label: 'Customer talk', value: totals.avg_customer_talk_s, tone: 'customer' },
    { label: 'Silence', value: totals.avg_silence_s, tone: 'silence' },
  ];
  const whole = parts.reduce((sum, p) => sum + (p.value ?? 0), 0);
  return (
    <>
      {whole > 0 ? (
        <div className="ratio" aria-hidden="true">
          {parts.map((p) => (
            <span key={p.label} className={`ratio-part tone-${p.tone}`} style={{ flexGrow: p.value ?? 0 }} />
          ))}
        </div>
      ) : null}
      <table className="kv">
        <tbody>
          {parts.map((p) => (
            <tr key={p.label}>
              <th scope="row">
                <span className={`swatch tone-${p.tone}`} aria-hidden="true" />
                {p.label}
              </th>
              <td className="num">{formatClock(p.value)}</td>
              <td className="num muted">{whole > 0 ? formatPercent((p.value ?? 0) / whole) : '—'}</td>
            </tr>
          ))}
          <tr>
            <th scope="row">Overtalk</th>
            <td className="num">{formatClock(totals.avg_overtalk_s)}</td>
            <td />
          </tr>
          <tr>
            <th scope="row">Average call</th>
            <td className="num">{formatClock(totals.avg_duration_s)}</td>
            <td />
          </tr>
        </tbody>
      </table>
    </>
  );
}

export function Dashboard() {
  useTitle('Dashboard');
  const [params, setParams] = useSearchParams();
  const defaults = lastDays(7);
  const fromParam = params.get('from');
  const toParam = params.get('to');
  const from = isValidDay(fromParam) ? fromParam : defaults.from;
  const to = isValidDay(toParam) ? toParam : defaults.to;
  const groupParam = params.get('group_by');
  const groupBy: GroupBy = isGroupBy(groupParam) ? groupParam : 'queue';
  const rangeError = from > to ? '"From" must not be after "To".' : null;

  const daily = useSummary(from, to, 'day', !rangeError);
  const grouped = useSummary(from, to, groupBy, !rangeError && groupBy !== 'day');
  const groups = groupBy === 'day' ? daily : grouped;

  function update(name: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  }

  const summary = daily.data;
  const totals = summary?.totals;

  return (
    <>
      <PageHeader title="Dashboard" subtitle="Analysed calls over whole UTC days." />
      <form className="toolbar" aria-label="Range" onSubmit={(e) => { e.preventDefault(); }}>
        <label className="field">
          <span>From</span>
          <input type="date" value={from} max={to} onChange={(e) => { update('from', e.target.value); }} />
        </label>
        <label className="field">
          <span>To</span>
          <input type="date" value={to} min={from} onChange={(e) => { update('to', e.target.value); }} />
        </label>
        <label className="field">
          <span>Group by</span>
          <select value={groupBy} onChange={(e) => { update('group_by', e.target.value); }}>
            {GROUP_BYS.map((g) => (
              <option key={g} value={g}>
                {humanize(g)}
              </option>
            ))}
          </select>
        </label>
        {daily.isFetching && summary ? <span className="muted small">Updating…</span> : null}
      </form>

      {rangeError ? <ErrorAlert error={new Error(rangeError)} /> : null}
      {!rangeError && daily.isPending ? <Loading /> : null}
      {daily.isError ? <ErrorAlert error={daily.error} /> : null}
      {summary && totals && totals.calls === 0 ? (
        <Empty>No analysed calls between {from} and {to}. Start a journey to fetch and analyse calls.</Empty>
      ) : null}

      {summary && totals && totals.calls > 0 ? (
        <>
          <div className="cards" aria-label="Totals">
            <Stat label="Calls" value={formatInt(totals.calls)} />
            <Stat
              label="Resolution rate"
              value={formatPercent(totals.resolution_rate)}
              hint={`${formatInt(totals.resolved)} resolved`}
            />
            <Stat label="Billed minutes" value={formatDecimal(totals.billed_audio_minutes)} />
            <Stat
              label="Estimated cost"
              value={formatUsd(totals.estimated_cost_usd)}
              hint={`${formatInt(totals.tokens_in + totals.tokens_out)} tokens`}
            />
          </div>
          <Suspense fallback={<Loading label="Loading charts…" />}>
            <Charts summary={summary} />
          </Suspense>
          <div className="grid-3">
            <Section title="Top reasons">
              {summary.top_reasons.length ? (
                <Bars label="Top reasons" items={counts(summary.top_reasons)} />
              ) : (
                <Empty>No reasons yet.</Empty>
              )}
            </Section>
            <Section title="Top topics">
              {summary.top_topics.length ? (
                <Bars label="Top topics" items={counts(summary.top_topics)} />
              ) : (
                <Empty>No topics yet.</Empty>
              )}
            </Section>
            <Section title="QA flags by severity">
              <Bars
                label="QA flags by severity"
                items={SEVERITIES.map((s) => ({ label: humanize(s), value: totals.qa_flags[s] ?? 0, tone: s }))}
              />
            </Section>
          </div>
          <Section title="Talk and silence (average per call)">
            <TalkSilence totals={totals} />
          </Section>
          <Section title={`By ${groupBy}`}>
            {groups.isPending ? <Loading /> : null}
            {groups.isError ? <ErrorAlert error={groups.error} /> : null}
            {groups.data ? <BreakdownTable groupBy={groupBy} groups={groups.data.groups} /> : null}
          </Section>
        </>
      ) : null}
    </>
  );
}
