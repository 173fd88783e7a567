import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { fakeApi, renderApp } from '../../../test/app';

function whoami(scopes: string[]) {
  return { body: { actor: 'key:qa', label: 'QA', kind: 'key', scopes, expires: null } };
}

describe('scopes in the console', () => {
  it('hides the DLQ replay form and the journey form from a read-only key', async () => {
    fakeApi({
      '/api/v1/whoami': whoami(['read']),
      '/api/v1/dlq': { body: { stages: [{ stage: 'fetch', messages: 1 }] } },
      '/api/v1/dlq/fetch/messages': { body: { stage: 'fetch', messages: [] } },
    });
    renderApp('/dlq');
    expect(await screen.findByText('Messages per stage')).toBeInTheDocument();
    await waitFor(() => {
      expect(screen.queryByRole('form', { name: 'Replay' })).not.toBeInTheDocument();
    });
  });

  it('shows them to an operate key', async () => {
    fakeApi({
      '/api/v1/whoami': whoami(['read', 'operate']),
      '/api/v1/dlq': { body: { stages: [{ stage: 'fetch', messages: 1 }] } },
      '/api/v1/dlq/fetch/messages': { body: { stage: 'fetch', messages: [] } },
    });
    renderApp('/dlq');
    expect(await screen.findByRole('form', { name: 'Replay' })).toBeInTheDocument();
  });

  it('offers Sign in with SSO only when the API advertises an issuer', async () => {
    fakeApi({
      '/api/v1/auth/config': {
        body: {
          api_keys: true,
          oidc: {
            issuer: 'https://issuer.test',
            client_id: 'c',
            authorization_endpoint: 'https://auth.test/authorize',
            token_endpoint: 'https://auth.test/token',
            scopes: ['openid'],
          },
        },
      },
    });
    renderApp('/signin', { signedIn: false });
    expect(await screen.findByRole('button', { name: 'Sign in with SSO' })).toBeInTheDocument();
  });

  it('offers API keys only when the API has no OIDC', async () => {
    fakeApi({ '/api/v1/auth/config': { body: { api_keys: true, oidc: null } } });
    renderApp('/signin', { signedIn: false });
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument();
    await waitFor(() => {
      expect(screen.queryByRole('button', { name: 'Sign in with SSO' })).not.toBeInTheDocument();
    });
  });
});
