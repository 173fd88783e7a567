/** Dead letters: messages per stage, and a replay that always starts with a dry run of the same filters. */
import { type SyntheticEvent, useState } from 'react';
import { Link } from 'react-router';

import { PageHeader, Section } from '../../../components/Page';
import { useTitle } from '../../../lib/useTitle';
import { Empty, ErrorAlert, Loading } from '../../../components/States';
import type { ReplayJob, ReplayRequest } from '../../../lib/api';
import { formatDateTime, formatInt, humanize } from '../../../lib/format';
import { StateBadge } from '../../journeys/components/JourneyState';
import { RequireScope } from '../../auth/components/RequireScope';
import { useDeadLetters, useDlq, useReplayJob, useStartReplay } from '../api/dlq';

interface Started {
  location: string;
  dryRun: boolean;
  signature: string;
}

function JobResult({ job }: { job: ReplayJob }) {
  return (
    <div className="job" aria-live="polite">
      <div className="row">
        <strong>{job.dry_run ? 'Dry run' : 'Replay'}</strong> <StateBadge state={job.state} />
        <span className="muted small">{formatDateTime(job.finished_at ?? job.updated_at)}</span>
      </div>
      <table className="kv">
        <tbody>
          {job.dry_run ? (
            <tr>
              <th scope="row">Would move</th>
              <td className="num">{formatInt(job.would_move)}</td>
            </tr>
          ) : (
            <tr>
              <th scope="row">Moved</th>
              <td className="num">{formatInt(job.moved)}</td>
            </tr>
          )}
          <tr>
            <th scope="row">Not matching (left)</th>
            <td className="num">{formatInt(job.skipped_non_matching)}</td>
          </tr>
          <tr>
            <th scope="row">Refused (replayed too often)</th>
            <td className="num">{formatInt(job.refused_over_cap)}</td>
          </tr>
          {!job.dry_run ? (
            <tr>
              <th scope="row">Failed calls reopened</th>
              <td className="num">{formatInt(job.reopened)}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {job.error ? <ErrorAlert error={new Error(job.error)} /> : null}
    </div>
  );
}

function StageMessages({ stage }: { stage: string }) {
  const letters = useDeadLetters(stage);
  const messages = letters.data?.messages ?? [];
  return (
    <Section title={`${humanize(stage || 'stage')} messages`}>
      {letters.isPending && stage ? <Loading /> : null}
      {letters.isError ? <ErrorAlert error={letters.error} /> : null}
      {letters.data && messages.length === 0 ? <Empty>No dead letters in this stage.</Empty> : null}
      {messages.length > 0 ? (
        <div className="table-wrap">
          <table className="table">
            <caption className="sr-only">Dead letters of the {stage} stage, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Call</th>
                <th scope="col">Journey</th>
                <th scope="col">Error type</th>
                <th scope="col">Reason</th>
                <th scope="col" className="num">Waiting</th>
              </tr>
            </thead>
            <tbody>
              {messages.map((m) => (
                <tr key={m.message_id}>
                  <td>{m.task_id ? <Link to={`/calls/${encodeURIComponent(m.task_id)}`}>{m.task_id}</Link> : '—'}</td>
                  <td>
                    {m.journey_id ? <Link to={`/journeys/${encodeURIComponent(m.journey_id)}`}>{m.journey_id}</Link> : '—'}
                  </td>
                  <td>{m.error_type ?? '—'}</td>
                  <td>{m.error_message ?? '—'}</td>
                  <td className="num">{formatAge(m.age_s)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Section>
  );
}

function formatAge(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

export function DeadLetters() {
  useTitle('Dead letters');
  const dlq = useDlq();
  const start = useStartReplay();
  const stages = dlq.data?.stages ?? [];
  const [stage, setStage] = useState('');
  const [journeyId, setJourneyId] = useState('');
  const [errorType, setErrorType] = useState('');
  const [started, setStarted] = useState<Started | null>(null);
  const job = useReplayJob(started?.location ?? null);

  const chosen = stage || stages.find((s) => (s.messages ?? 0) > 0)?.stage || stages[0]?.stage || '';
  const signature = JSON.stringify([chosen, journeyId.trim(), errorType.trim()]);
  const running = start.isPending || job.data?.state === 'RUNNING' || (!!started && job.isPending);
  const dryRunDone =
    !!started && started.dryRun && started.signature === signature && job.data?.state === 'SUCCEEDED';

  function run(dryRun: boolean) {
    const body: ReplayRequest = { dry_run: dryRun };
    if (journeyId.trim()) body.journey_id = journeyId.trim();
    if (errorType.trim()) body.error_type = errorType.trim();
    start.mutate(
      { stage: chosen, body },
      {
        onSuccess: ({ location }) => {
          setStarted({ location, dryRun, signature });
        },
      },
    );
  }

  function submit(event: SyntheticEvent<HTMLFormElement>) {
    event.preventDefault();
    run(true);
  }

  return (
    <>
      <PageHeader
        title="Dead letters"
        subtitle="Messages a stage gave up on. Replay moves them back to the stage's queue."
        actions={
          <button type="button" className="button" onClick={() => void dlq.refetch()} disabled={dlq.isFetching}>
            Refresh
          </button>
        }
      />
      {dlq.isPending ? <Loading /> : null}
      {dlq.isError ? <ErrorAlert error={dlq.error} /> : null}
      {dlq.data ? (
        <div className="grid-2">
          <Section title="Messages per stage">
            {stages.every((s) => !s.messages) ? <Empty>No dead letters. Every stage&apos;s DLQ is empty.</Empty> : null}
            <div className="table-wrap">
              <table className="table">
                <caption className="sr-only">Dead letters per stage</caption>
                <thead>
                  <tr>
                    <th scope="col">Stage</th>
                    <th scope="col" className="num">Messages</th>
                  </tr>
                </thead>
                <tbody>
                  {stages.map((s) => (
                    <tr key={s.stage}>
                      <th scope="row">{humanize(s.stage)}</th>
                      <td className="num">{s.messages === null ? 'unreadable' : formatInt(s.messages)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
          <RequireScope scope="operate">
          <Section title="Replay">
            <form className="stack" aria-label="Replay" onSubmit={submit} noValidate>
              <label className="field">
                <span>Stage</span>
                <select value={chosen} onChange={(e) => { setStage(e.target.value); }}>
                  {stages.map((s) => (
                    <option key={s.stage} value={s.stage}>
                      {humanize(s.stage)} ({s.messages === null ? '?' : formatInt(s.messages)})
                    </option>
                  ))}
                </select>
              </label>
              <div className="row">
                <label className="field">
                  <span>Journey (optional)</span>
                  <input value={journeyId} onChange={(e) => { setJourneyId(e.target.value); }} />
                </label>
                <label className="field">
                  <span>Error type (optional)</span>
                  <input
                    value={errorType}
                    placeholder="e.g. Permanent"
                    onChange={(e) => { setErrorType(e.target.value); }}
                  />
                </label>
              </div>
              <p className="muted small">
                A dry run counts what a replay would move; the replay is enabled after a dry run of the same choice.
              </p>
              <div className="row">
                <button type="submit" className="button" disabled={!chosen || running}>
                  Dry run
                </button>
                <button
                  type="button"
                  className="button primary"
                  disabled={!dryRunDone || running}
                  onClick={() => { run(false); }}
                >
                  Replay
                </button>
              </div>
            </form>
            {start.isError ? <ErrorAlert error={start.error} /> : null}
            {job.isError ? <ErrorAlert error={job.error} /> : null}
            {started && job.isPending ? <Loading label="Starting…" /> : null}
            {job.data ? <JobResult job={job.data} /> : null}
          </Section>
          </RequireScope>
        </div>
      ) : null}
      {dlq.data ? <StageMessages stage={chosen} /> : null}
    </>
  );
}
