/** Who the console is signed in as (`GET /api/v1/whoami`), how the API lets people sign in (`GET /api/v1/auth/config`),
 * and which scopes a screen needs: the console hides what the key may not do; the API refuses it anyway. */
import { useQuery } from '@tanstack/react-query';

import { send } from '../../../lib/api';

/** read ⊂ operate ⊂ admin. */
export type Scope = 'read' | 'operate' | 'admin';

export interface WhoAmI {
  actor: string;
  label: string | null;
  kind: 'key' | 'oidc' | 'anonymous';
  scopes: Scope[];
  expires: string | null;
}

export interface OidcSignIn {
  issuer: string;
  client_id: string;
  authorization_endpoint: string | null;
  token_endpoint: string | null;
  scopes: string[];
}

export interface AuthConfig {
  api_keys: boolean;
  oidc: OidcSignIn | null;
}

export async function fetchWhoAmI(signal?: AbortSignal): Promise<WhoAmI> {
  const response = await send('whoami', { signal });
  return (await response.json()) as WhoAmI;
}

/** The API's sign-in options; an API without the endpoint (or unreachable) offers API keys only. */
export async function fetchAuthConfig(signal?: AbortSignal): Promise<AuthConfig> {
  try {
    const response = await send('auth/config', { signal, apiKey: '' });
    return (await response.json()) as AuthConfig;
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    return { api_keys: true, oidc: null };
  }
}

export function useWhoAmI() {
  return useQuery({ queryKey: ['whoami'], queryFn: ({ signal }) => fetchWhoAmI(signal), staleTime: 60_000 });
}

export function useAuthConfig() {
  return useQuery({ queryKey: ['auth-config'], queryFn: ({ signal }) => fetchAuthConfig(signal), staleTime: 300_000 });
}

/** Whether the signed-in key may do what needs `scope`: false only when the API said it lacks it (an API that does
 * not answer `whoami` leaves every control shown; the server still refuses what the key may not do). */
export function useHasScope(scope: Scope): boolean {
  const me = useWhoAmI();
  return me.data ? me.data.scopes.includes(scope) : true;
}
