/** A journey's or a replay job's state as a coloured badge. */
const TONES: Record<string, string> = {
  RUNNING: 'info',
  COMPLETED: 'good',
  SUCCEEDED: 'good',
  CANCELLED: 'neutral',
  FAILED: 'bad',
  INTERRUPTED: 'warn',
};

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge badge-${TONES[state] ?? 'neutral'}`}>{state}</span>;
}
