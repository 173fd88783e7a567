/** The transcript as speaker turns; a click seeks the audio, the turn being played is `aria-current`. */
import { useEffect, useRef } from 'react';

import type { Turn } from '../../../lib/api';
import { formatClock, speakerName } from '../../../lib/format';
import { activeTurn } from '../api/sync';
import { type Evidence, highlight } from './highlight';

export function Transcript({
  turns,
  currentTime,
  evidence,
  onSeek,
}: {
  turns: Turn[];
  currentTime: number | null;
  evidence: Evidence[];
  onSeek: (seconds: number) => void;
}) {
  const active = activeTurn(turns, currentTime);
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    if (active === null) return;
    const item = listRef.current?.children[active];
    if (item && 'scrollIntoView' in item && typeof item.scrollIntoView === 'function') {
      item.scrollIntoView({ block: 'nearest' });
    }
  }, [active]);

  return (
    <ol className="transcript" role="list" aria-label="Transcript" ref={listRef}>
      {turns.map((turn, index) => {
        const { nodes, marked } = highlight(turn.text, evidence);
        const party = turn.speaker.toLowerCase().startsWith('agent') ? 'agent' : 'customer';
        return (
          <li key={`${turn.start}-${index}`} className={`turn turn-${party}`}>
            <button
              type="button"
              className={`turn-button ${marked ? 'turn-flagged' : ''}`}
              aria-current={active === index ? 'true' : undefined}
              onClick={() => {
                onSeek(turn.start);
              }}
            >
              <span className="turn-meta">
                <span className="turn-speaker">{speakerName(turn.speaker)}</span>
                <time className="turn-time num">{formatClock(turn.start)}</time>
              </span>
              <span className="turn-text">{nodes}</span>
            </button>
          </li>
        );
      })}
    </ol>
  );
}
