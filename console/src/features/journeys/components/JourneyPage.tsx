/** One journey: state, per-stage progress (live while it runs), license holds, failures, DLQ depth and reports. */
import { useState } from 'react';
import { Link, useParams } from 'react-router';

import { PageHeader, Section } from '../../../components/Page';
import { useTitle } from '../../../lib/useTitle';
import { Stat } from '../../../components/Stat';
import { Empty, ErrorAlert, Loading } from '../../../components/States';
import type { JourneyStatus, ReportFormat, StageCounters } from '../../../lib/api';
import { apiUrl } from '../../../lib/api';
import { formatDateTime, formatDecimal, formatInt, humanize } from '../../../lib/format';
import { useHasScope } from '../../auth/api/access';
import { canCancel } from '../api/cancel';
import { downloadReport, useCancelJourney, useJourney } from '../api/journeys';
import { StateBadge } from './JourneyState';

const STAGE_ORDER = ['poll', 'fetch', 'transcribe', 'analyze'];
const FORMATS: [ReportFormat, string][] = [
  ['json', 'JSON'],
  ['csv', 'CSV'],
  ['html', 'HTML'],
];

function finished(c: StageCounters): number {
  return c.done + c.skipped + c.skipped_duplicate + c.failed;
}

function StageProgress({ stage, counters }: { stage: string; counters: StageCounters }) {
  const total = Math.max(counters.queued, finished(counters));
  const done = finished(counters);
  const ratio = total > 0 ? done / total : 0;
  return (
    <div className="stage">
      <div className="stage-head">
        <span className="stage-name" id={`stage-${stage}`}>
          {humanize(stage)}
        </span>
        <span className="num small">
          {formatInt(done)} / {formatInt(total)}
        </span>
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-labelledby={`stage-${stage}`}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        aria-valuetext={`${formatInt(done)} of ${formatInt(total)}`}
      >
        <span className="progress-done" style={{ width: `${(counters.done / Math.max(1, total)) * 100}%` }} />
        <span
          className="progress-skipped"
          style={{ width: `${((counters.skipped + counters.skipped_duplicate) / Math.max(1, total)) * 100}%` }}
        />
        <span className="progress-failed" style={{ width: `${(counters.failed / Math.max(1, total)) * 100}%` }} />
      </div>
      <div className="stage-legend small muted">
        {formatInt(counters.done)} done · {formatInt(counters.skipped + counters.skipped_duplicate)} skipped ·{' '}
        <span className={counters.failed ? 'text-bad' : ''}>{formatInt(counters.failed)} failed</span>
        {counters.held ? ` · ${formatInt(counters.held)} held` : ''}
        {ratio === 1 && total > 0 ? ' · complete' : ''}
      </div>
    </div>
  );
}

/** Calls of this journey the license holds back (they resume by themselves), or a usage warning. */
function LicenseNoticeLine({ notice }: { notice: JourneyStatus['license'] }) {
  if (!notice || (!notice.held && !notice.warning)) return null;
  const reason = notice.reason ? ` (${notice.reason})` : '';
  return (
    <p className="notice" role="status">
      {notice.held
        ? `${formatInt(notice.held)} calls held by the license${reason}: they resume when the month rolls over or a larger license is activated.`
        : `The license's monthly allowance is ${notice.warning ?? ''} % used.`}
    </p>
  );
}

function ReportLinks({ id }: { id: string }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<ReportFormat | null>(null);
  return (
    <div>
      <div className="row">
        {FORMATS.map(([format, label]) => (
          <a
            key={format}
            className="button"
            href={apiUrl(`journeys/${encodeURIComponent(id)}/report`, { format })}
            aria-disabled={busy === format}
            onClick={(event) => {
              event.preventDefault();
              setError(null);
              setBusy(format);
              downloadReport(id, format)
                .catch(setError)
                .finally(() => {
                  setBusy(null);
                });
            }}
          >
            {label}
          </a>
        ))}
      </div>
      {error ? <ErrorAlert error={error} /> : null}
    </div>
  );
}

export function JourneyPage() {
  const { journeyId = '' } = useParams();
  useTitle(`Journey ${journeyId}`);
  const status = useJourney(journeyId);
  const cancel = useCancelJourney(journeyId);
  const mayOperate = useHasScope('operate');
  const data = status.data;
  const stages = data
    ? [
        ...STAGE_ORDER.filter((s) => s in data.stages),
        ...Object.keys(data.stages).filter((s) => !STAGE_ORDER.includes(s)),
      ]
    : [];

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/journeys">Journeys</Link> <span aria-hidden="true">/</span> <span>{journeyId}</span>
      </nav>
      <PageHeader
        title={
          <>
            Journey <span className="mono">{journeyId}</span>
          </>
        }
        subtitle={
          data ? `${humanize(data.journey.kind)} · created ${formatDateTime(data.journey.created_at)} by ${data.journey.created_by}` : undefined
        }
        actions={
          data && canCancel(data.journey, mayOperate) ? (
            <button type="button" className="button danger" disabled={cancel.isPending} onClick={() => { cancel.mutate(); }}>
              Cancel journey
            </button>
          ) : null
        }
      />
      {status.isPending ? <Loading /> : null}
      {status.isError ? <ErrorAlert error={status.error} /> : null}
      {cancel.isError ? <ErrorAlert error={cancel.error} /> : null}
      {data ? (
        <>
          <LicenseNoticeLine notice={data.license} />
          <div className="cards">
            <div className="stat">
              <div className="stat-label">State</div>
              <div className="stat-value">
                <span aria-live="polite">
                  <StateBadge state={data.journey.state} />
                </span>
              </div>
              <div className="stat-hint">{data.journey.state === 'RUNNING' ? 'Updating every 2 s' : '\u00a0'}</div>
            </div>
            <Stat label="Calls found" value={formatInt(data.discovered)} hint={`${formatInt(data.finished)} finished`} />
            <Stat label="Billed audio minutes" value={formatDecimal(data.billed_audio_seconds / 60)} />
            <Stat label="Tokens" value={formatInt(data.tokens)} />
          </div>
          <Section title="Progress">
            {stages.length ? (
              <div className="stages">
                {stages.map((stage) => {
                  const counters = data.stages[stage];
                  return counters ? <StageProgress key={stage} stage={stage} counters={counters} /> : null;
                })}
              </div>
            ) : (
              <Empty>No stage has started yet.</Empty>
            )}
            {data.pending_poll_windows > 0 ? (
              <p className="muted small">{formatInt(data.pending_poll_windows)} poll windows still to search.</p>
            ) : null}
          </Section>
          <div className="grid-2">
            <Section title="Failures">
              {data.failures.length ? (
                <div className="table-wrap">
                  <table className="table">
                    <thead>
                      <tr>
                        <th scope="col">Call</th>
                        <th scope="col">Stage</th>
                        <th scope="col">Reason</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.failures.map((f) => (
                        <tr key={`${f.task_id}-${f.stage ?? ''}`}>
                          <td>
                            <Link to={`/calls/${encodeURIComponent(f.task_id)}`} className="mono">
                              {f.task_id}
                            </Link>
                          </td>
                          <td>{humanize(f.stage)}</td>
                          <td>{f.reason ?? '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <Empty>No failures.</Empty>
              )}
            </Section>
            <Section title="Report">
              <p className="muted small">
                {data.journey.state === 'RUNNING'
                  ? 'The report is built on the spot while the journey runs.'
                  : 'The stored report of the finished journey.'}
              </p>
              <ReportLinks id={journeyId} />
              <h3 className="subheading">Dead letters per stage</h3>
              <table className="kv">
                <tbody>
                  {data.dlq_depth.map((d) => (
                    <tr key={d.stage}>
                      <th scope="row">{humanize(d.stage)}</th>
                      <td className="num">{formatInt(d.messages)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="small">
                <Link to="/dlq">Open dead letters</Link>
              </p>
            </Section>
          </div>
        </>
      ) : null}
    </>
  );
}
