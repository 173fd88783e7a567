/** The dashboard's charts (visx SVG, loaded on demand): calls per day and sentiment per party. */
import { AxisBottom, AxisLeft } from '@visx/axis';
import { Group } from '@visx/group';
import { ParentSize } from '@visx/responsive';
import { scaleBand, scaleLinear } from '@visx/scale';
import { Bar } from '@visx/shape';

import { Section } from '../../../components/Page';
import type { Summary } from '../../../lib/api';
import { humanize } from '../../../lib/format';

const SENTIMENTS = ['very_negative', 'negative', 'neutral', 'positive', 'very_positive'] as const;
const SENTIMENT_COLOURS: Record<(typeof SENTIMENTS)[number], string> = {
  very_negative: '#b42318',
  negative: '#f04438',
  neutral: '#98a2b3',
  positive: '#32d583',
  very_positive: '#039855',
};
const HEIGHT = 220;
const AXIS = { stroke: '#d0d5dd', tickStroke: '#d0d5dd' };
const TICK_LABEL = { fill: '#5d6676', fontSize: 11, fontFamily: 'inherit' } as const;

interface Day {
  day: string;
  calls: number;
  resolved: number;
}

function DailyBars({ data, width }: { data: Day[]; width: number }) {
  const margin = { top: 8, right: 8, bottom: 28, left: 36 };
  const innerW = Math.max(0, width - margin.left - margin.right);
  const innerH = HEIGHT - margin.top - margin.bottom;
  const x = scaleBand({ domain: data.map((d) => d.day), range: [0, innerW], padding: 0.25 });
  const y = scaleLinear({ domain: [0, Math.max(1, ...data.map((d) => d.calls))], range: [innerH, 0], nice: true });
  const half = x.bandwidth() / 2;
  const every = Math.max(1, Math.ceil(data.length / Math.max(1, Math.floor(innerW / 48))));
  return (
    <svg width={width} height={HEIGHT} aria-hidden="true">
      <Group left={margin.left} top={margin.top}>
        {y.ticks(4).map((t) => (
          <line key={t} x1={0} x2={innerW} y1={y(t)} y2={y(t)} stroke="#eaecf0" />
        ))}
        {data.map((d) => {
          const left = x(d.day) ?? 0;
          return (
            <Group key={d.day}>
              <Bar x={left} y={y(d.calls)} width={half} height={innerH - y(d.calls)} fill="#2f5bea" rx={2}>
                <title>{`${d.day}: ${d.calls} calls`}</title>
              </Bar>
              <Bar x={left + half} y={y(d.resolved)} width={half} height={innerH - y(d.resolved)} fill="#12b76a" rx={2}>
                <title>{`${d.day}: ${d.resolved} resolved`}</title>
              </Bar>
            </Group>
          );
        })}
        <AxisLeft scale={y} numTicks={4} tickFormat={(v) => String(v)} hideAxisLine hideTicks tickLabelProps={TICK_LABEL} />
        <AxisBottom
          top={innerH}
          scale={x}
          {...AXIS}
          hideTicks
          tickValues={data.map((d) => d.day).filter((_, i) => i % every === 0)}
          tickFormat={(v) => v.slice(5)}
          tickLabelProps={TICK_LABEL}
        />
      </Group>
    </svg>
  );
}

interface Party {
  party: string;
  counts: Record<string, number>;
}

function SentimentBars({ data, width }: { data: Party[]; width: number }) {
  const margin = { top: 8, right: 8, bottom: 28, left: 72 };
  const innerW = Math.max(0, width - margin.left - margin.right);
  const innerH = HEIGHT - margin.top - margin.bottom - 36;
  const totals = data.map((p) => SENTIMENTS.reduce((sum, s) => sum + (p.counts[s] ?? 0), 0));
  const x = scaleLinear({ domain: [0, Math.max(1, ...totals)], range: [0, innerW], nice: true });
  const y = scaleBand({ domain: data.map((p) => p.party), range: [0, innerH], padding: 0.35 });
  return (
    <svg width={width} height={HEIGHT - 36} aria-hidden="true">
      <Group left={margin.left} top={margin.top}>
        {data.map((p) => {
          let at = 0;
          return (
            <Group key={p.party} top={y(p.party) ?? 0}>
              {SENTIMENTS.map((s) => {
                const value = p.counts[s] ?? 0;
                const left = x(at);
                at += value;
                return value > 0 ? (
                  <Bar key={s} x={left} y={0} width={x(value)} height={y.bandwidth()} fill={SENTIMENT_COLOURS[s]}>
                    <title>{`${p.party}: ${humanize(s)} ${value}`}</title>
                  </Bar>
                ) : null;
              })}
            </Group>
          );
        })}
        <AxisLeft scale={y} hideAxisLine hideTicks tickLabelProps={{ ...TICK_LABEL, fontSize: 12 }} />
        <AxisBottom top={innerH} scale={x} numTicks={5} {...AXIS} tickFormat={(v) => String(v)} tickLabelProps={TICK_LABEL} />
      </Group>
    </svg>
  );
}

function Legend({ items }: { items: { label: string; colour: string }[] }) {
  return (
    <ul className="legend" aria-hidden="true">
      {items.map((item) => (
        <li key={item.label}>
          <svg width="10" height="10" className="legend-dot">
            <circle cx="5" cy="5" r="5" fill={item.colour} />
          </svg>
          {item.label}
        </li>
      ))}
    </ul>
  );
}

export default function DashboardCharts({ summary }: { summary: Summary }) {
  const perDay: Day[] = summary.groups.map((g) => ({ day: g.key, calls: g.calls, resolved: g.resolved }));
  const parties: Party[] = [
    { party: 'Customer', counts: summary.totals.customer_sentiment },
    { party: 'Agent', counts: summary.totals.agent_sentiment },
  ];
  return (
    <div className="grid-2">
      <Section title="Calls per day">
        <div
          className="chart"
          role="img"
          aria-label={`Calls per day: ${perDay.map((d) => `${d.day} ${d.calls} (${d.resolved} resolved)`).join(', ')}`}
        >
          <ParentSize debounceTime={50}>{({ width }) => (width > 0 ? <DailyBars data={perDay} width={width} /> : null)}</ParentSize>
        </div>
        <Legend
          items={[
            { label: 'Calls', colour: '#2f5bea' },
            { label: 'Resolved', colour: '#12b76a' },
          ]}
        />
      </Section>
      <Section title="Sentiment per party">
        <div
          className="chart"
          role="img"
          aria-label={parties
            .map((p) => `${p.party}: ${SENTIMENTS.map((s) => `${humanize(s)} ${p.counts[s] ?? 0}`).join(', ')}`)
            .join('; ')}
        >
          <ParentSize debounceTime={50}>{({ width }) => (width > 0 ? <SentimentBars data={parties} width={width} /> : null)}</ParentSize>
        </div>
        <Legend items={SENTIMENTS.map((s) => ({ label: humanize(s), colour: SENTIMENT_COLOURS[s] }))} />
      </Section>
    </div>
  );
}
