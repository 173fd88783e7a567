/** The loading, empty and error states every page shows the same way. */
import type { ReactNode } from 'react';
import { errorMessage } from '../lib/errors';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div role="status" className="state state-loading">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  return (
    <div role="alert" className="state state-error">
      {title ? <strong>{title}: </strong> : null}
      {errorMessage(error)}
    </div>
  );
}
