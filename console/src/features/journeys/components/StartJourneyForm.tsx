/** "Start a journey": a window of call end times, a list of task ids, or a reprocess with a new pipeline version. */
import { type SyntheticEvent, useState } from 'react';
import { useNavigate } from 'react-router';

import { Section } from '../../../components/Page';
import { ErrorAlert } from '../../../components/States';
import { journeyBody, type Kind, localInput } from '../api/body';
import { useStartJourney } from '../api/journeys';

export function StartJourneyForm() {
  const navigate = useNavigate();
  const start = useStartJourney();
  const now = new Date();
  const [kind, setKind] = useState<Kind>('window');
  const [from, setFrom] = useState(localInput(new Date(now.getTime() - 3_600_000)));
  const [to, setTo] = useState(localInput(now));
  const [taskIds, setTaskIds] = useState('');
  const [pipelineVersion, setPipelineVersion] = useState('2');
  const [problem, setProblem] = useState<string | null>(null);
  // one key per intended journey: a retried submit returns the same journey
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());

  function submit(event: SyntheticEvent<HTMLFormElement>) {
    event.preventDefault();
    const body = journeyBody(kind, { from, to, taskIds, pipelineVersion });
    if (typeof body === 'string') {
      setProblem(body);
      return;
    }
    setProblem(null);
    start.mutate(
      { body, idempotencyKey },
      {
        onSuccess: (journey) => {
          setIdempotencyKey(crypto.randomUUID());
          void navigate(`/journeys/${encodeURIComponent(journey.id)}`);
        },
      },
    );
  }

  const needsWindow = kind === 'window' || kind === 'reprocess';
  const needsIds = kind === 'tasks' || kind === 'reprocess';

  return (
    <Section title="Start a journey">
      <form className="stack" aria-label="Start a journey" onSubmit={submit} noValidate>
        <fieldset className="segmented">
          <legend>Kind</legend>
          {(
            [
              ['window', 'Window'],
              ['tasks', 'Task ids'],
              ['reprocess', 'Reprocess'],
            ] as const
          ).map(([value, label]) => (
            <label key={value} className={kind === value ? 'selected' : ''}>
              <input
                type="radio"
                name="kind"
                value={value}
                checked={kind === value}
                onChange={() => {
                  setKind(value);
                  setProblem(null);
                }}
              />
              {label}
            </label>
          ))}
        </fieldset>
        {needsWindow ? (
          <div className="row">
            <label className="field">
              <span>From</span>
              <input type="datetime-local" value={from} onChange={(e) => { setFrom(e.target.value); }} />
            </label>
            <label className="field">
              <span>To</span>
              <input type="datetime-local" value={to} onChange={(e) => { setTo(e.target.value); }} />
            </label>
          </div>
        ) : null}
        {needsIds ? (
          <label className="field">
            <span>{kind === 'reprocess' ? 'Task ids (optional: instead of the window)' : 'Task ids'}</span>
            <textarea
              rows={3}
              value={taskIds}
              placeholder="One per line or comma-separated"
              onChange={(e) => { setTaskIds(e.target.value); }}
            />
          </label>
        ) : null}
        {kind === 'reprocess' ? (
          <label className="field field-narrow">
            <span>Pipeline version</span>
            <input
              type="number"
              min={1}
              step={1}
              value={pipelineVersion}
              onChange={(e) => { setPipelineVersion(e.target.value); }}
            />
          </label>
        ) : null}
        {problem ? <ErrorAlert error={new Error(problem)} /> : null}
        {start.isError ? <ErrorAlert error={start.error} /> : null}
        <div>
          <button type="submit" className="button primary" disabled={start.isPending}>
            {start.isPending ? 'Starting…' : 'Start'}
          </button>
        </div>
      </form>
    </Section>
  );
}
