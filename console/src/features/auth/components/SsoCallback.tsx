/** Where the sign-in provider returns to: exchanges the code (PKCE), keeps the ID token for this tab, goes on. */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';

import { ErrorAlert, Loading } from '../../../components/States';
import { setApiKey } from '../../../lib/auth';
import { useTitle } from '../../../lib/useTitle';
import { finishSignIn } from '../api/sso';

export function SsoCallback() {
  useTitle('Signing in');
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return; // the code can be exchanged once only (React runs effects twice in development)
    started.current = true;
    finishSignIn(location.search).then(
      ({ token, from }) => {
        setApiKey(token);
        queryClient.clear();
        void navigate(from && from !== '/signin' ? from : '/', { replace: true });
      },
      (err: unknown) => {
        setError(err);
      },
    );
  }, [location.search, navigate, queryClient]);

  return (
    <main className="signin">
      <div className="signin-card">
        <h1>Signing in</h1>
        {error ? (
          <>
            <ErrorAlert error={error} />
            <Link to="/signin" className="button">
              Back to sign-in
            </Link>
          </>
        ) : (
          <Loading label="Finishing sign-in…" />
        )}
      </div>
    </main>
  );
}
