/** The sign-in page: an API key, checked against the API, then kept for this tab in sessionStorage; and "Sign in with
 * SSO" when the API advertises an OIDC issuer (`GET /api/v1/auth/config`). */
import { type SyntheticEvent, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';

import { ErrorAlert } from '../../../components/States';
import { useTitle } from '../../../lib/useTitle';
import { api } from '../../../lib/api';
import { setApiKey } from '../../../lib/auth';
import { useAuthConfig } from '../api/access';
import { authorizationUrl } from '../api/sso';

interface FromState {
  from?: string;
  expired?: boolean;
}

export function SignIn() {
  useTitle('Sign in');
  const navigate = useNavigate();
  const location = useLocation();
  const state = (location.state ?? {}) as FromState;
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const oidc = useAuthConfig().data?.oidc ?? null;

  async function sso() {
    if (!oidc) return;
    setError(null);
    try {
      window.location.assign(await authorizationUrl(oidc, state.from ?? '/'));
    } catch (err) {
      setError(err);
    }
  }

  async function submit(event: SyntheticEvent<HTMLFormElement>) {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError(new Error('Enter an API key.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (await api.checkKey(trimmed)) {
        setApiKey(trimmed);
        const target = state.from && state.from !== '/signin' ? state.from : '/';
        void navigate(target, { replace: true });
      } else {
        setError(new Error('The API refused this key.'));
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={(e) => void submit(e)} noValidate>
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          callpipe
        </div>
        <h1>Sign in</h1>
        <p className="muted">Use an API key of this deployment. It is kept only in this browser tab.</p>
        {state.expired ? (
          <p className="notice">Your key was refused or has expired. Sign in again.</p>
        ) : null}
        <label className="field">
          <span>API key</span>
          <input
            type="password"
            autoComplete="current-password"
            value={key}
            onChange={(e) => {
              setKey(e.target.value);
            }}
            autoFocus
          />
        </label>
        {error ? <ErrorAlert error={error} /> : null}
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {oidc ? (
          <>
            <p className="muted small">or</p>
            <button type="button" className="button" onClick={() => void sso()}>
              Sign in with SSO
            </button>
          </>
        ) : null}
      </form>
    </main>
  );
}
