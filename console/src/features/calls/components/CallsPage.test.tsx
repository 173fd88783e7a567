import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { API_KEY_STORAGE } from '../../../lib/auth';
import { fakeApi, renderApp } from '../../../test/app';

const call = {
  task_id: 'task-1',
  ended_at: '2026-11-20T10:05:00Z',
  duration_s: 95,
  queue: 'Billing',
  agent: 'Ann',
  direction: 'inbound',
  reason_for_call: 'Double charge',
  topics: ['billing'],
  resolved: true,
  customer_sentiment: 'positive',
  agent_sentiment: 'neutral',
  qa_flags: 0,
  qa_max_severity: null,
  pipeline_version: 1,
};

function lastCallsQuery(requests: URL[]): URLSearchParams {
  const hit = requests.filter((u) => u.pathname === '/api/v1/calls').at(-1);
  if (!hit) throw new Error('the calls list was not requested');
  return hit.searchParams;
}

describe('calls: filters ↔ URL', () => {
  it('reading a URL fills the filters and asks the API for them', async () => {
    const { requests } = fakeApi({ '/api/v1/calls': { body: { items: [call], next_cursor: null } } });
    renderApp('/calls?from=2026-11-01&to=2026-11-20&queue=Billing&sentiment=negative&resolved=false&qa_severity=critical&topic=refund&agent=Ann');

    expect(await screen.findByRole('link', { name: 'task-1' })).toHaveAttribute('href', '/calls/task-1');
    expect(screen.getByLabelText('From')).toHaveValue('2026-11-01');
    expect(screen.getByLabelText('To')).toHaveValue('2026-11-20');
    expect(screen.getByLabelText('Queue')).toHaveValue('Billing');
    expect(screen.getByLabelText('Agent')).toHaveValue('Ann');
    expect(screen.getByLabelText('Sentiment')).toHaveValue('negative');
    expect(screen.getByLabelText('Resolved')).toHaveValue('false');
    expect(screen.getByLabelText('Topic')).toHaveValue('refund');
    expect(screen.getByLabelText('QA severity')).toHaveValue('critical');

    const q = lastCallsQuery(requests);
    expect(q.get('from')).toBe('2026-11-01T00:00:00Z');
    expect(q.get('to')).toBe('2026-11-21T00:00:00Z'); // the To day is included
    expect(q.get('queue')).toBe('Billing');
    expect(q.get('sentiment')).toBe('negative');
    expect(q.get('resolved')).toBe('false');
    expect(q.get('qa_severity')).toBe('critical');
  });

  it('changing a filter updates the query string and the request, and drops the page cursor', async () => {
    const { requests } = fakeApi({ '/api/v1/calls': { body: { items: [call], next_cursor: 'c2' } } });
    const { router } = renderApp('/calls?queue=Billing');
    await screen.findByRole('link', { name: 'task-1' });

    await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
    await waitFor(() => {
      expect(new URLSearchParams(router.state.location.search).get('cursor')).toBe('c2');
    });
    expect(lastCallsQuery(requests).get('cursor')).toBe('c2');

    await userEvent.selectOptions(screen.getByLabelText('Sentiment'), 'positive');
    await waitFor(() => {
      const params = new URLSearchParams(router.state.location.search);
      expect(params.get('sentiment')).toBe('positive');
      expect(params.get('queue')).toBe('Billing');
      expect(params.get('cursor')).toBeNull();
    });

    await userEvent.type(screen.getByLabelText('Agent'), 'Bob');
    await waitFor(() => {
      expect(new URLSearchParams(router.state.location.search).get('agent')).toBe('Bob');
    });
    await waitFor(() => {
      const q = lastCallsQuery(requests);
      expect(q.get('agent')).toBe('Bob');
      expect(q.get('sentiment')).toBe('positive');
      expect(q.get('cursor')).toBeNull();
    });

    await userEvent.clear(screen.getByLabelText('Queue'));
    await waitFor(() => {
      expect(new URLSearchParams(router.state.location.search).has('queue')).toBe(false);
    });
  });

  it('shows an empty state when nothing matches', async () => {
    fakeApi({ '/api/v1/calls': { body: { items: [], next_cursor: null } } });
    renderApp('/calls');
    expect(await screen.findByText('No analysed calls match these filters.')).toBeInTheDocument();
  });
});

describe('error states', () => {
  it('a 500 shows an alert with the API error message', async () => {
    fakeApi({
      '/api/v1/calls': {
        status: 500,
        body: { error: { code: 'internal', message: 'DynamoDB is unreachable', details: null } },
      },
    });
    renderApp('/calls');
    expect(await screen.findByRole('alert')).toHaveTextContent('DynamoDB is unreachable');
  });

  it('a 401 forgets the key and returns to sign-in', async () => {
    fakeApi({
      '/api/v1/calls': { status: 401, body: { error: { code: 'unauthorized', message: 'bad key', details: null } } },
    });
    const { router } = renderApp('/calls?queue=Billing');
    await waitFor(() => {
      expect(router.state.location.pathname).toBe('/signin');
    });
    expect(sessionStorage.getItem(API_KEY_STORAGE)).toBeNull();
    expect(await screen.findByLabelText('API key')).toHaveAttribute('type', 'password');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
  });

  it('without a key every page goes to sign-in; a refused key stays out, an accepted one goes back', async () => {
    fakeApi({
      '/api/v1/journeys': { body: { items: [], next_cursor: null } },
      '/api/v1/calls': { body: { items: [call], next_cursor: null } },
    });
    const { router } = renderApp('/calls', { signedIn: false });
    const input = await screen.findByLabelText('API key');
    await userEvent.type(input, 'k-123');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => {
      expect(router.state.location.pathname).toBe('/calls');
    });
    expect(sessionStorage.getItem(API_KEY_STORAGE)).toBe('k-123');
    expect(await screen.findByRole('heading', { name: 'Calls' })).toBeInTheDocument();
  });

  it('sign-in with a refused key shows an alert and keeps nothing', async () => {
    fakeApi({
      '/api/v1/journeys': { status: 401, body: { error: { code: 'unauthorized', message: 'bad key', details: null } } },
    });
    const { router } = renderApp('/', { signedIn: false });
    await userEvent.type(await screen.findByLabelText('API key'), 'wrong');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The API refused this key.');
    expect(router.state.location.pathname).toBe('/signin');
    expect(sessionStorage.getItem(API_KEY_STORAGE)).toBeNull();
  });
});
