/** One call: the recording, the transcript in sync with it, the analysis, QA flags and conversation metrics. */
import { type RefObject, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';

import { PageHeader, Section } from '../../../components/Page';
import { useTitle } from '../../../lib/useTitle';
import { Empty, ErrorAlert, Loading } from '../../../components/States';
import type { CallRecord, ConversationMetrics, RecordingLinks } from '../../../lib/api';
import {
  formatClock,
  formatDateTime,
  formatInt,
  formatPercent,
  formatUsd,
  humanize,
  speakerName,
} from '../../../lib/format';
import { useCall, useRecording, useTranscript } from '../api/calls';
import { Transcript } from './Transcript';

function Analysis({ record }: { record: CallRecord }) {
  return (
    <Section title="Analysis">
      <p className="summary">{record.summary}</p>
      <dl className="facts">
        <dt>Reason</dt>
        <dd>{record.reason_for_call}</dd>
        <dt>Topics</dt>
        <dd>
          {record.topics.length
            ? record.topics.map((t) => (
                <span key={t} className="chip">
                  {t}
                </span>
              ))
            : '—'}
        </dd>
        <dt>Resolution</dt>
        <dd>
          <span className={`badge ${record.resolved ? 'badge-good' : 'badge-bad'}`}>
            {record.resolved ? 'Resolved' : 'Not resolved'}
          </span>
        </dd>
        <dt>Customer sentiment</dt>
        <dd>{humanize(record.customer_sentiment)}</dd>
        <dt>Agent sentiment</dt>
        <dd>{humanize(record.agent_sentiment)}</dd>
        <dt>Action items</dt>
        <dd>
          {record.action_items.length ? (
            <ul className="plain-list">
              {record.action_items.map((item) => (
                <li key={item}>{item}</li>
              ))}
            </ul>
          ) : (
            'None'
          )}
        </dd>
      </dl>
    </Section>
  );
}

function QaFlags({ record }: { record: CallRecord }) {
  return (
    <Section title="QA flags">
      {record.qa_flags.length ? (
        <ul className="flags">
          {record.qa_flags.map((f, i) => (
            <li key={`${f.flag}-${i}`} className="flag">
              <div>
                <span className={`badge badge-sev-${f.severity}`}>{humanize(f.severity)}</span>{' '}
                <strong>{humanize(f.flag)}</strong>
              </div>
              {f.evidence ? <blockquote>{f.evidence}</blockquote> : null}
            </li>
          ))}
        </ul>
      ) : (
        <Empty>No QA flags on this call.</Empty>
      )}
    </Section>
  );
}

function Conversation({ metrics }: { metrics: ConversationMetrics | null | undefined }) {
  return (
    <Section title="Conversation">
      {metrics ? (
        <table className="kv">
          <tbody>
            <tr>
              <th scope="row">Duration</th>
              <td className="num">{formatClock(metrics.duration_s)}</td>
            </tr>
            {Object.entries(metrics.talk_s).map(([speaker, seconds]) => (
              <tr key={speaker}>
                <th scope="row">{speakerName(speaker)} talk</th>
                <td className="num">{formatClock(seconds)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">Silence</th>
              <td className="num">
                {formatClock(metrics.silence_s)} <span className="muted">({formatPercent(metrics.silence_ratio)})</span>
              </td>
            </tr>
            <tr>
              <th scope="row">Longest silence</th>
              <td className="num">{formatClock(metrics.longest_silence_s)}</td>
            </tr>
            <tr>
              <th scope="row">Overtalk</th>
              <td className="num">{formatClock(metrics.overtalk_s)}</td>
            </tr>
            <tr>
              <th scope="row">Agent talk ratio</th>
              <td className="num">{formatPercent(metrics.agent_talk_ratio)}</td>
            </tr>
            <tr>
              <th scope="row">Turns</th>
              <td className="num">{formatInt(metrics.turns)}</td>
            </tr>
          </tbody>
        </table>
      ) : (
        <Empty>No conversation metrics for this call.</Empty>
      )}
    </Section>
  );
}

function Player({
  links,
  audioRef,
  onTime,
}: {
  links: RecordingLinks;
  audioRef: RefObject<HTMLAudioElement | null>;
  onTime: (seconds: number) => void;
}) {
  const [index, setIndex] = useState(0);
  const recording = links.recordings[index];
  if (!recording) return <Empty>This call has no recording.</Empty>;
  return (
    <div className="player">
      <audio
        ref={audioRef}
        controls
        preload="metadata"
        src={recording.url}
        aria-label="Call recording"
        onTimeUpdate={(e) => {
          onTime(e.currentTarget.currentTime);
        }}
        onSeeked={(e) => {
          onTime(e.currentTarget.currentTime);
        }}
      />
      {links.recordings.length > 1 ? (
        <label className="field field-inline">
          <span>Leg</span>
          <select
            value={index}
            onChange={(e) => {
              setIndex(Number(e.target.value));
            }}
          >
            {links.recordings.map((r, i) => (
              <option key={r.url} value={i}>
                {humanize(r.call_type)}
              </option>
            ))}
          </select>
        </label>
      ) : null}
    </div>
  );
}

export function CallPage() {
  const { taskId = '' } = useParams();
  useTitle(`Call ${taskId}`);
  const call = useCall(taskId);
  const analysed = !!call.data?.record;
  const transcript = useTranscript(taskId, !!call.data?.transcript);
  const recording = useRecording(taskId, !!call.data && call.data.recordings.length > 0);
  const audioRef = useRef<HTMLAudioElement>(null);
  const [currentTime, setCurrentTime] = useState<number | null>(null);

  function seek(seconds: number) {
    setCurrentTime(seconds);
    const audio = audioRef.current;
    if (!audio) return;
    audio.currentTime = seconds;
    if (audio.paused) {
      audio.play().catch(() => {
        // the browser refused to start playback (no user gesture, no audio device): the position is still set
      });
    }
  }

  const record = call.data?.record;
  const evidence = (record?.qa_flags ?? []).map((f) => ({ text: f.evidence, flag: humanize(f.flag) }));

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/calls">Calls</Link> <span aria-hidden="true">/</span> <span>{taskId}</span>
      </nav>
      <PageHeader
        title={<span className="mono">{taskId}</span>}
        subtitle={
          record
            ? `${formatDateTime(record.ended_at)} · ${record.queue ?? 'no queue'} · ${record.agent ?? 'no agent'} · ${formatClock(record.duration_s)} · ${formatUsd(record.cost_usd)}`
            : call.data
              ? `Status ${call.data.status}`
              : undefined
        }
      />
      {call.isPending ? <Loading /> : null}
      {call.isError ? <ErrorAlert error={call.error} /> : null}
      {call.data && !analysed ? (
        <Empty>
          This call has not been analysed yet (status {call.data.status}
          {call.data.error ? `: ${call.data.error}` : ''}).
        </Empty>
      ) : null}
      {call.data ? (
        <div className="call-layout">
          <div className="call-main">
            <Section title="Recording">
              {recording.isPending && recording.fetchStatus !== 'idle' ? <Loading /> : null}
              {recording.isError ? <ErrorAlert error={recording.error} /> : null}
              {recording.data ? <Player links={recording.data} audioRef={audioRef} onTime={setCurrentTime} /> : null}
              {call.data.recordings.length === 0 ? <Empty>This call has no recording yet.</Empty> : null}
            </Section>
            <Section title="Transcript" className="transcript-panel">
              {transcript.isPending && transcript.fetchStatus !== 'idle' ? <Loading /> : null}
              {transcript.isError ? <ErrorAlert error={transcript.error} /> : null}
              {!call.data.transcript ? <Empty>No transcript yet.</Empty> : null}
              {transcript.data && transcript.data.turns.length === 0 ? <Empty>The transcript is empty.</Empty> : null}
              {transcript.data && transcript.data.turns.length > 0 ? (
                <Transcript
                  turns={transcript.data.turns}
                  currentTime={currentTime}
                  evidence={evidence}
                  onSeek={seek}
                />
              ) : null}
            </Section>
          </div>
          {record ? (
            <aside className="call-side">
              <Analysis record={record} />
              <QaFlags record={record} />
              <Conversation metrics={record.conversation} />
            </aside>
          ) : null}
        </div>
      ) : null}
    </>
  );
}
