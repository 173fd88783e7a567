import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { fakeApi, renderApp } from '../../../test/app';

function job(id: string, dryRun: boolean, state: string, moved: number) {
  return {
    id,
    stage: 'fetch',
    state,
    dry_run: dryRun,
    journey_id: null,
    error_type: null,
    max: null,
    rate_per_s: null,
    max_replays: 3,
    moved: dryRun ? 0 : moved,
    would_move: dryRun ? moved : 0,
    skipped_non_matching: 0,
    refused_over_cap: 0,
    reopened: dryRun ? 0 : moved,
    move_task: null,
    created_at: '2026-11-20T10:00:00Z',
    updated_at: '2026-11-20T10:00:01Z',
    finished_at: state === 'RUNNING' ? null : '2026-11-20T10:00:02Z',
    error: null,
  };
}

describe('dead letters', () => {
  it('shows each stage, enables Replay only after a dry run, and follows the replay job to its end', async () => {
    let polls = 0;
    const posted: unknown[] = [];
    const { requests } = fakeApi({
      '/api/v1/dlq': {
        body: {
          stages: [
            { stage: 'poll', messages: 0 },
            { stage: 'fetch', messages: 2 },
          ],
        },
      },
      '/api/v1/dlq/fetch/messages': {
        body: {
          stage: 'fetch',
          messages: [
            {
              message_id: 'm-1',
              journey_id: 'j-1',
              task_id: 't-1',
              kind: 'fetch',
              error_type: 'Permanent',
              error_message: 'no recording available 172800 s after the call ended',
              receive_count: 1,
              age_s: 120,
              replay_count: 0,
            },
          ],
        },
      },
      '/api/v1/dlq/fetch/replay': (url) => {
        posted.push(url.pathname);
        const dry = posted.length === 1;
        return {
          status: 202,
          body: job(dry ? 'r-dry' : 'r-real', dry, 'RUNNING', 0),
          headers: { Location: `/api/v1/dlq/replays/${dry ? 'r-dry' : 'r-real'}` },
        };
      },
      '/api/v1/dlq/replays/r-dry': { body: job('r-dry', true, 'SUCCEEDED', 2) },
      '/api/v1/dlq/replays/r-real': () => {
        polls += 1;
        return { body: polls < 2 ? job('r-real', false, 'RUNNING', 1) : job('r-real', false, 'SUCCEEDED', 2) };
      },
    });
    renderApp('/dlq');
    expect(await screen.findByRole('heading', { name: 'Dead letters' })).toBeInTheDocument();
    expect(await screen.findByRole('row', { name: /Fetch 2/ })).toBeInTheDocument();
    expect(screen.getByLabelText('Stage')).toHaveValue('fetch');
    expect(
      await screen.findByRole('row', { name: /t-1 j-1 Permanent no recording available 172800 s after the call ended 2 min/ }),
    ).toBeInTheDocument();

    const replay = screen.getByRole('button', { name: 'Replay' });
    expect(replay).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Dry run' }));
    expect(await screen.findByRole('row', { name: /Would move 2/ })).toBeInTheDocument();
    await waitFor(() => {
      expect(replay).toBeEnabled();
    });

    await userEvent.click(replay);
    expect(await screen.findByRole('row', { name: /Moved 2/ }, { timeout: 4000 })).toBeInTheDocument();
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(screen.getByText('SUCCEEDED')).toBeInTheDocument();
    await waitFor(() => {
      expect(requests.filter((u) => u.pathname === '/api/v1/dlq').length).toBeGreaterThanOrEqual(2);
    });
  });
});
