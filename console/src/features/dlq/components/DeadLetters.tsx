/** Dead letters: messages per stage, and a replay that always starts with a dry run of the same filters. */
import { type SyntheticEvent, useState } from 'react';
import { Link } from 'react-router';

import { PageHeader, Section } from '../../../components/Page';
import { useTitle } from '../../../lib/useTitle';
import { Empty, ErrorAlert, Loading } from '../../../components/States';
import type { ReplayJob, ReplayRequest } from '../../../lib/api';
import { formatDateTime, formatInt, humanize } from '../../../lib/format';
import { StateBadge } from '../../journeys/components/JourneyState';
import { useDlq, useReplayJob, useStartReplay } from '../api/dlq';

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
            <p className="muted small">
              The reasons of failed calls are on each <Link to="/journeys">journey</Link>&apos;s page;{' '}
              <code>callpipe dlq list STAGE</code> shows each message&apos;s error.
            </p>
          </Section>
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
        </div>
      ) : null}
    </>
  );
}
