import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { fakeApi, renderApp } from '../../../test/app';

const TASK = 'task-42';
const record = {
  org_id: 'org',
  task_id: TASK,
  journey_id: 'j1',
  ended_at: '2026-11-20T10:05:00Z',
  day: '2026-11-20',
  duration_s: 30,
  queue: 'Billing',
  agent: 'Ann',
  agents: ['Ann'],
  legs: [],
  summary: 'The customer asked about a double charge.',
  reason_for_call: 'Double charge',
  topics: ['billing', 'refund'],
  resolved: false,
  customer_sentiment: 'negative',
  agent_sentiment: 'neutral',
  action_items: ['Refund the second charge'],
  qa_flags: [{ flag: 'no_greeting', severity: 'warning', evidence: '"what do you want"' }],
  conversation: {
    duration_s: 30,
    talk_s: { agent: 12, customer: 14 },
    silence_s: 4,
    silence_ratio: 0.13,
    longest_silence_s: 2,
    overtalk_s: 1,
    agent_talk_ratio: 0.46,
    turns: 3,
  },
};

function callApi() {
  return fakeApi({
    [`/api/v1/calls/${TASK}`]: {
      body: {
        org_id: 'org',
        task_id: TASK,
        status: 'ANALYZED',
        recordings: [{ bucket: 'b', key: 'r.wav' }],
        transcript: { bucket: 'b', key: 't.json' },
        analysis: { bucket: 'b', key: 'a.json' },
        record,
      },
    },
    [`/api/v1/calls/${TASK}/transcript`]: {
      body: {
        task_id: TASK,
        call_seconds: 30,
        turns: [
          { speaker: 'agent', start: 0, end: 4, text: 'Hello, what do you want?', leg: 'main' },
          { speaker: 'customer', start: 5, end: 11, text: 'I was charged twice.', leg: 'main' },
          { speaker: 'agent', start: 12.5, end: 20, text: 'Let me check that.', leg: 'main' },
        ],
      },
    },
    [`/api/v1/calls/${TASK}/recording`]: {
      body: {
        task_id: TASK,
        expires_in_s: 300,
        recordings: [{ call_type: 'main', url: 'http://s3.test/r.wav?sig=1', expires_at: '2026-11-20T10:10:00Z' }],
      },
    },
  });
}

describe('call page: transcript and audio in sync', () => {
  beforeEach(() => {
    // jsdom does not play media: a resolved play() stands in for the browser starting playback
    vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
  });

  it('clicking a turn seeks the audio to its start and marks it as the one playing', async () => {
    callApi();
    renderApp(`/calls/${TASK}`);
    const transcript = await screen.findByRole('list', { name: 'Transcript' });
    const turns = within(transcript).getAllByRole('button');
    expect(turns).toHaveLength(3);
    expect(turns[1]).toHaveTextContent('Customer');
    expect(turns[1]).toHaveTextContent('0:05');
    turns.forEach((t) => {
      expect(t).not.toHaveAttribute('aria-current');
    });

    const audio = await waitFor(() => {
      const el = document.querySelector('audio');
      if (!el) throw new Error('no audio element yet');
      return el;
    });
    expect(audio).toHaveAttribute('src', 'http://s3.test/r.wav?sig=1');

    const second = turns[1];
    if (!second) throw new Error('no second turn');
    await userEvent.click(second);
    expect(audio.currentTime).toBe(5);
    expect(turns[1]).toHaveAttribute('aria-current', 'true');
    expect(turns[0]).not.toHaveAttribute('aria-current');
  });

  it('timeupdate moves aria-current to the turn being played', async () => {
    callApi();
    renderApp(`/calls/${TASK}`);
    const transcript = await screen.findByRole('list', { name: 'Transcript' });
    const turns = within(transcript).getAllByRole('button');
    const audio = await waitFor(() => {
      const el = document.querySelector('audio');
      if (!el) throw new Error('no audio element yet');
      return el;
    });

    audio.currentTime = 13;
    fireEvent.timeUpdate(audio);
    await waitFor(() => {
      expect(turns[2]).toHaveAttribute('aria-current', 'true');
    });
    expect(turns[1]).not.toHaveAttribute('aria-current');

    audio.currentTime = 6;
    fireEvent.timeUpdate(audio);
    await waitFor(() => {
      expect(turns[1]).toHaveAttribute('aria-current', 'true');
    });
    expect(turns[2]).not.toHaveAttribute('aria-current');
  });

  it('shows the analysis, QA flags with their evidence marked in the transcript, and conversation metrics', async () => {
    callApi();
    renderApp(`/calls/${TASK}`);
    expect(await screen.findByRole('heading', { level: 1, name: TASK })).toBeInTheDocument();
    const analysis = await screen.findByRole('region', { name: 'Analysis' });
    expect(analysis).toHaveTextContent('Double charge');
    expect(analysis).toHaveTextContent('Not resolved');
    expect(analysis).toHaveTextContent('Refund the second charge');
    expect(screen.getByRole('region', { name: 'QA flags' })).toHaveTextContent('No greeting');
    expect(screen.getByRole('region', { name: 'Conversation' })).toHaveTextContent('Customer talk');

    const transcript = await screen.findByRole('list', { name: 'Transcript' });
    const mark = await within(transcript).findByText('what do you want', { selector: 'mark' });
    expect(mark.closest('button')).toHaveTextContent('Hello, what do you want?');
    expect(within(transcript).getAllByText((_, el) => el?.tagName === 'MARK')).toHaveLength(1);
  });
});
