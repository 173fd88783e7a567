import { afterEach, describe, expect, it, vi } from 'vitest';

import { authorizationUrl, challengeOf, finishSignIn } from './sso';

const OIDC = {
  issuer: 'https://issuer.test/pool',
  client_id: 'console-client',
  authorization_endpoint: 'https://auth.test/oauth2/authorize',
  token_endpoint: 'https://auth.test/oauth2/token',
  scopes: ['openid', 'email'],
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('SSO with PKCE', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await challengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('sends the browser to the issuer with a challenge, then trades the code and verifier for the ID token through the API', async () => {
    const url = new URL(await authorizationUrl(OIDC, '/journeys', 'https://console.test'));
    expect(url.origin + url.pathname).toBe('https://auth.test/oauth2/authorize');
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe('console-client');
    expect(q.get('redirect_uri')).toBe('https://console.test/signin/callback');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('scope')).toBe('openid email');

    let sent: Record<string, string> = {};
    vi.stubGlobal(
      'fetch',
      vi.fn((input: string, init?: RequestInit) => {
        expect(input).toBe('/api/v1/auth/token');
        expect(new Headers(init?.headers).get('Authorization')).toBeNull();
        sent = JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as Record<string, string>;
        return Promise.resolve(new Response(JSON.stringify({ id_token: 'header.claims.sig', expires_in: 3600 })));
      }),
    );
    const done = await finishSignIn(`?code=the-code&state=${q.get('state') ?? ''}`);
    expect(done).toEqual({ token: 'header.claims.sig', from: '/journeys' });
    expect(sent.code).toBe('the-code');
    expect(sent.redirect_uri).toBe('https://console.test/signin/callback');
    expect(await challengeOf(sent.code_verifier ?? '')).toBe(q.get('code_challenge'));
    await expect(finishSignIn(`?code=again&state=${q.get('state') ?? ''}`)).rejects.toThrow('No sign-in was started');
  });

  it('refuses an answer whose state does not match, and a provider error', async () => {
    await authorizationUrl(OIDC, '/', 'https://console.test');
    await expect(finishSignIn('?code=c&state=forged')).rejects.toThrow('does not match');
    await authorizationUrl(OIDC, '/', 'https://console.test');
    await expect(finishSignIn('?error=access_denied')).rejects.toThrow('access_denied');
  });
});
