/** The signed-in shell: left navigation, the page, and the return to sign-in when the API refuses the key. */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from 'react-router';

import { clearApiKey, getApiKey, onUnauthorized } from '../lib/auth';

const NAV = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/calls', label: 'Calls', end: false },
  { to: '/journeys', label: 'Journeys', end: false },
  { to: '/dlq', label: 'Dead letters', end: false },
];

export function Layout() {
  const navigate = useNavigate();
  const location = useLocation();
  const queryClient = useQueryClient();

  useEffect(
    () =>
      onUnauthorized(() => {
        queryClient.clear();
        void navigate('/signin', { replace: true, state: { expired: true, from: location.pathname + location.search } });
      }),
    [navigate, queryClient, location.pathname, location.search],
  );

  if (!getApiKey()) {
    return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  }

  function signOut() {
    clearApiKey();
    queryClient.clear();
    void navigate('/signin', { replace: true });
  }

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          callpipe
        </div>
        <ul className="nav-list">
          {NAV.map((item) => (
            <li key={item.to}>
              <NavLink to={item.to} end={item.end} className="nav-link">
                {item.label}
              </NavLink>
            </li>
          ))}
        </ul>
        <button type="button" className="nav-link nav-signout" onClick={signOut}>
          Sign out
        </button>
      </nav>
      <main className="content" id="content">
        <Outlet />
      </main>
    </div>
  );
}
