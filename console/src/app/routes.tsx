/** The client routes (the API serves index.html for each of them). */
import type { RouteObject } from 'react-router';

import { SignIn } from '../features/auth/components/SignIn';
import { SsoCallback } from '../features/auth/components/SsoCallback';
import { CallPage } from '../features/calls/components/CallPage';
import { CallsPage } from '../features/calls/components/CallsPage';
import { Dashboard } from '../features/dashboard/components/Dashboard';
import { DeadLetters } from '../features/dlq/components/DeadLetters';
import { JourneyPage } from '../features/journeys/components/JourneyPage';
import { JourneysPage } from '../features/journeys/components/JourneysPage';
import { NotFound } from './NotFound';
import { Layout } from './Layout';

export const routes: RouteObject[] = [
  { path: '/signin', element: <SignIn /> },
  { path: '/signin/callback', element: <SsoCallback /> },
  {
    element: <Layout />,
    children: [
      { index: true, element: <Dashboard /> },
      { path: 'calls', element: <CallsPage /> },
      { path: 'calls/:taskId', element: <CallPage /> },
      { path: 'journeys', element: <JourneysPage /> },
      { path: 'journeys/:journeyId', element: <JourneyPage /> },
      { path: 'dlq', element: <DeadLetters /> },
      { path: '*', element: <NotFound /> },
    ],
  },
];
