/** "Sign in with SSO": the OAuth 2.0 authorization-code flow with PKCE (RFC 7636) against the API's OIDC issuer.
 * The verifier and state live in sessionStorage for the round trip only. The code is traded through the API
 * (`POST /api/v1/auth/token`, which relays it to the issuer: the console's content policy allows its own origin
 * only); the verified ID token returned becomes this tab's bearer credential. */
import { send } from '../../../lib/api';
import type { OidcSignIn } from './access';

const PENDING = 'callpipe.sso';
export const CALLBACK_PATH = '/signin/callback';

interface Pending {
  verifier: string;
  state: string;
  from: string;
  redirectUri: string;
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A high-entropy code verifier (43 characters of base64url). */
export function newVerifier(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** S256 code challenge of a verifier. */
export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function redirectUri(origin: string = window.location.origin): string {
  return `${origin}${CALLBACK_PATH}`;
}

/** The authorization URL to send the browser to; remembers the verifier and state for `finishSignIn`. */
export async function authorizationUrl(oidc: OidcSignIn, from: string, origin?: string): Promise<string> {
  if (!oidc.authorization_endpoint || !oidc.token_endpoint) {
    throw new Error('The sign-in provider cannot be reached right now. Use an API key, or try again later.');
  }
  const pending: Pending = {
    verifier: newVerifier(),
    state: newVerifier(),
    from,
    redirectUri: redirectUri(origin),
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(oidc.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.client_id,
    redirect_uri: pending.redirectUri,
    scope: oidc.scopes.join(' '),
    state: pending.state,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

/** Exchange the callback's code for tokens; the ID token and where to go next. Throws on any mismatch. */
export async function finishSignIn(search: string): Promise<{ token: string; from: string }> {
  const params = new URLSearchParams(search);
  const raw = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  const failure = params.get('error_description') ?? params.get('error');
  if (failure) throw new Error(`The sign-in provider refused: ${failure}`);
  if (!raw) throw new Error('No sign-in was started in this tab. Start again.');
  const pending = JSON.parse(raw) as Pending;
  const code = params.get('code');
  if (!code || params.get('state') !== pending.state) {
    throw new Error('The sign-in answer does not match the sign-in this tab started. Start again.');
  }
  const response = await send('auth/token', {
    method: 'POST',
    apiKey: '',
    body: { code, code_verifier: pending.verifier, redirect_uri: pending.redirectUri },
  });
  const tokens = (await response.json()) as { id_token?: unknown };
  if (typeof tokens.id_token !== 'string') throw new Error('The sign-in provider returned no ID token.');
  return { token: tokens.id_token, from: pending.from };
}
