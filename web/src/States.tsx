// The designed states of every view: loading (a spinner announced politely), a failed request (what
// failed, why, and Try again) and nothing to show (what it means and what to do next).
import type { ReactNode } from 'react';
import { problemText } from './api';

export function Loading({ children, className = '' }: { children: ReactNode; className?: string }) {
  return (
    <p role="status" className={`state loading ${className}`}>
      <span className="spinner" aria-hidden="true" />
      {children}
    </p>
  );
}

/** A failed request: `what` could not be done, the server's reason, and a Try again button. */
export function Failed({ what, error, onRetry, retrying = false, className = '' }: {
  what: string; error: unknown; onRetry?: () => void; retrying?: boolean; className?: string;
}) {
  return (
    <div role="alert" className={`state failed ${className}`}>
      <p><strong>{what}</strong> {problemText(error, 'Something went wrong.')}</p>
      {onRetry && <button type="button" onClick={onRetry}>{retrying ? 'Trying again…' : 'Try again'}</button>}
    </div>
  );
}

/** Nothing to show: a title, a line of help and maybe an action; announced when it appears. */
export function Empty({ title, children, className = '' }: { title: string; children?: ReactNode; className?: string }) {
  return (
    <div role="status" className={`state empty ${className}`}>
      <p className="state-title">{title}</p>
      {children}
    </div>
  );
}
