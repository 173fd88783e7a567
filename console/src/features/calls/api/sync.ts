/** Which transcript turn the audio is playing. */
import type { Turn } from '../../../lib/api';

/** The turn playing at `time` seconds: the last one started by then (null before playback). */
export function activeTurn(turns: Turn[], time: number | null): number | null {
  if (time === null) return null;
  let active: number | null = null;
  turns.forEach((turn, index) => {
    if (turn.start <= time + 0.05) active = index;
  });
  return active;
}
