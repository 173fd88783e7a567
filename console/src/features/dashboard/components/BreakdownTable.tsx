/** The summary's groups (per day, queue, agent, topic or sentiment) as a table with aligned figures. */
import type { Group, GroupBy } from '../../../lib/api';
import { formatClock, formatDecimal, formatInt, formatPercent, formatUsd, humanize } from '../../../lib/format';
import { Empty } from '../../../components/States';

export function BreakdownTable({ groupBy, groups }: { groupBy: GroupBy; groups: Group[] }) {
  if (!groups.length) return <Empty>No calls to break down.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">{humanize(groupBy)}</th>
            <th scope="col" className="num">Calls</th>
            <th scope="col" className="num">Resolved</th>
            <th scope="col" className="num">Avg duration</th>
            <th scope="col" className="num">Avg silence</th>
            <th scope="col" className="num">QA flags</th>
            <th scope="col" className="num">Billed min</th>
            <th scope="col" className="num">Est. cost</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr key={g.key}>
              <th scope="row">{groupBy === 'sentiment' ? humanize(g.key) : g.key || '—'}</th>
              <td className="num">{formatInt(g.calls)}</td>
              <td className="num">{formatPercent(g.resolution_rate)}</td>
              <td className="num">{formatClock(g.avg_duration_s)}</td>
              <td className="num">{formatClock(g.avg_silence_s)}</td>
              <td className="num">{formatInt(Object.values(g.qa_flags).reduce((a, b) => a + b, 0))}</td>
              <td className="num">{formatDecimal(g.billed_audio_minutes)}</td>
              <td className="num">{formatUsd(g.estimated_cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
