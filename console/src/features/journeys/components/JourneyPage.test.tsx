import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { fakeApi, renderApp } from '../../../test/app';
import { canCancel } from '../api/cancel';

const COUNTERS = { queued: 3, done: 1, skipped: 0, skipped_duplicate: 0, failed: 0, held: 0, billed_audio_s: 0, tokens: 0 };

function status(kind: string, license: unknown, transcribeHeld = 0) {
  return {
    body: {
      journey: {
        id: 'j-1',
        kind,
        state: 'RUNNING',
        org_id: 'org',
        created_at: '2026-11-30T00:00:00Z',
        created_by: 'api',
        params: {},
        pipeline_version: 1,
      },
      stages: { poll: COUNTERS, transcribe: { ...COUNTERS, held: transcribeHeld } },
      discovered: 3,
      finished: 1,
      pending_poll_windows: 0,
      billed_audio_seconds: 0,
      tokens: 0,
      failures: [],
      dlq_depth: [],
      license,
    },
  };
}

const OPERATOR = { body: { actor: 'key:ops', label: 'Ops', kind: 'key', scopes: ['read', 'operate'], expires: null } };

describe('journey page', () => {
  it('shows the calls the license holds, per stage and in a notice', async () => {
    fakeApi({
      '/api/v1/whoami': OPERATOR,
      '/api/v1/journeys/j-1': status('window', { state: 'active', warning: '100', held: 2, reason: 'license_quota' }, 2),
    });
    renderApp('/journeys/j-1');
    expect(await screen.findByText(/2 calls held by the license \(license_quota\)/)).toBeInTheDocument();
    expect(screen.getByText(/2 held/)).toBeInTheDocument();
    expect(await screen.findByRole('button', { name: 'Cancel journey' })).toBeInTheDocument();
  });

  it('offers cancel to an operator on a running journey, never on an org\u2019s live (webhook) one', () => {
    expect(canCancel({ state: 'RUNNING', kind: 'window' }, true)).toBe(true);
    expect(canCancel({ state: 'RUNNING', kind: 'live' }, true)).toBe(false);
    expect(canCancel({ state: 'RUNNING', kind: 'window' }, false)).toBe(false);
    expect(canCancel({ state: 'COMPLETED', kind: 'tasks' }, true)).toBe(false);
  });
});
