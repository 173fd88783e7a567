/** Test harness: the real routes in a memory router, the API answered by a table of canned responses over `fetch`. */
import { QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { vi } from 'vitest';

import { routes } from '../app/routes';
import { setApiKey } from '../lib/auth';
import { createQueryClient } from '../lib/queryClient';

export interface Reply {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Answers by request path (without the query string); records every request URL. */
export function fakeApi(table: Record<string, Reply | ((url: URL) => Reply)>) {
  const requests: URL[] = [];
  const fetchMock = vi.fn((input: RequestInfo | URL) => {
    const href = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    const url = new URL(href, 'http://console.test');
    requests.push(url);
    const entry = table[url.pathname];
    const reply = typeof entry === 'function' ? entry(url) : entry;
    if (!reply) {
      return Promise.resolve(
        new Response(JSON.stringify({ error: { code: 'not_found', message: `no route ${url.pathname}` } }), {
          status: 404,
          headers: { 'Content-Type': 'application/json' },
        }),
      );
    }
    return Promise.resolve(
      new Response(JSON.stringify(reply.body), {
        status: reply.status ?? 200,
        headers: { 'Content-Type': 'application/json', ...reply.headers },
      }),
    );
  });
  vi.stubGlobal('fetch', fetchMock);
  return { requests };
}

export function renderApp(path: string, { signedIn = true }: { signedIn?: boolean } = {}) {
  if (signedIn) setApiKey('test-key');
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const client = createQueryClient({ retry: false });
  const view = render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { router, view };
}
