/** A horizontal bar list (label, bar, figure) drawn with CSS: top reasons, topics, QA severities. */
import { formatInt } from '../lib/format';

export interface BarItem {
  label: string;
  value: number;
  tone?: string;
}

export function Bars({ items, label }: { items: BarItem[]; label: string }) {
  const max = Math.max(1, ...items.map((i) => i.value));
  return (
    <ul className="bars" aria-label={label}>
      {items.map((item) => (
        <li key={item.label} className="bars-row">
          <span className="bars-label" title={item.label}>
            {item.label}
          </span>
          <span className="bars-track" aria-hidden="true">
            <span
              className={`bars-fill ${item.tone ? `tone-${item.tone}` : ''}`}
              style={{ width: `${(item.value / max) * 100}%` }}
            />
          </span>
          <span className="bars-value num">{formatInt(item.value)}</span>
        </li>
      ))}
    </ul>
  );
}
