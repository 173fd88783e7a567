/** Renders its children only for a key holding `scope` (destructive buttons, forms that change things). */
import type { ReactNode } from 'react';

import { type Scope, useHasScope } from '../api/access';

export function RequireScope({ scope, children, fallback = null }: { scope: Scope; children: ReactNode; fallback?: ReactNode }) {
  return useHasScope(scope) ? <>{children}</> : <>{fallback}</>;
}
