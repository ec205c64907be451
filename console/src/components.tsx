import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, dismissFailure, onActivity, type Activity } from './api.js';
import { problemsByField, type Problem } from './lib/problems.js';

/** A page's heading: focused when the page opens, so keyboard and screen-reader users start there. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** Loads an API resource; `reload()` asks again. */
export function useApi<T>(path: string | null, deps: unknown[] = []): { data: T | undefined; error: Problem | undefined; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: Problem; loading: boolean }>({ loading: path !== null });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    api<T>('GET', path).then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error: toProblem(error), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, round, ...deps]);
  return { data: state.data, error: state.error, loading: state.loading, reload: () => setRound((value) => value + 1) };
}

export function toProblem(error: unknown): Problem {
  return error instanceof ApiError ? error.problem : { title: 'Error', status: 0, detail: String(error) };
}

/** What a section shows while loading or after a failure: never a blank space. */
export function Loaded<T>({ state, what, children }: { state: { data?: T; error?: Problem; loading: boolean }; what: string; children: (data: T) => ComponentChildren }) {
  if (state.error) {
    return <ProblemMessage problem={state.error} context={`Could not load ${what}`} />;
  }
  if (state.data === undefined) {
    return <p class="loading" role="status">Loading {what}…</p>;
  }
  return <>{children(state.data)}</>;
}

export function ProblemMessage({ problem, context }: { problem: Problem; context?: string }) {
  const text = problem.detail ?? problem.title;
  return (
    <div class="problem" role="alert">
      {context ? <strong>{context}: </strong> : null}
      {problem.errors?.length ? problem.errors.map((error) => `${error.field} ${error.message}`).join('; ') : text}
      {problem.status ? <span class="muted"> (HTTP {problem.status}{problem.requestId ? `, request ${problem.requestId}` : ''})</span> : null}
    </div>
  );
}

interface FieldProps {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children?: ComponentChildren;
}

/** A labelled control with its hint and the API's message for it right below. */
export function Field({ id, label, error, hint, children }: FieldProps) {
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {hint ? <p class="hint" id={`${id}-hint`}>{hint}</p> : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** aria attributes that tie a control to its hint and error. */
export function described(id: string, error?: string, hint?: string): JSX.HTMLAttributes<HTMLInputElement> {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { id, 'aria-invalid': error ? true : undefined, 'aria-describedby': ids || undefined };
}

/** A form's state: its problem from the API, split by field; `submit` runs the call and keeps the problem. */
export function useForm(fields: readonly string[]) {
  const [problem, setProblem] = useState<Problem | undefined>();
  const [busy, setBusy] = useState(false);
  const shown = problemsByField(problem, fields);
  async function submit<T>(work: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setProblem(undefined);
    try {
      return await work();
    } catch (error) {
      setProblem(toProblem(error));
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  return { errors: shown.fields, general: shown.general, problem, busy, submit };
}

export function FormProblems({ general }: { general: string[] }) {
  return general.length ? (
    <div class="problem" role="alert">
      {general.map((line) => (
        <p key={line}>{line}</p>
      ))}
    </div>
  ) : null;
}

/** Copies a value a CSR reads out or sends to the customer. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="copy"
      aria-label={`Copy ${label}`}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
          setDone(true);
          setTimeout(() => setDone(false), 2000);
        } catch {
          window.prompt(`Copy ${label}:`, value);
        }
      }}
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

const STATUS_TONES: Record<string, string> = {
  active: 'good',
  verified: 'good',
  proven: 'good',
  pending_approval: 'wait',
  renewal_pending: 'wait',
  pending: 'wait',
  claimed: 'wait',
  suspended: 'bad',
  lapsed: 'bad',
  failed: 'bad',
  unproven: 'bad',
  revoked: 'off',
  expired: 'off',
  rejected: 'off',
};

export function Badge({ status }: { status: string }) {
  return <span class={`badge ${STATUS_TONES[status] ?? 'off'}`}>{status.replace(/_/g, ' ')}</span>;
}

export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const date = new Date(at);
  return <time dateTime={at}>{date.toISOString().replace('T', ' ').slice(0, 16)} UTC</time>;
}

/** Requests still running after a while, and the last one that failed: visible, announced, never silent. */
export function ActivityBar() {
  const [activity, setActivity] = useState<Activity>({ pending: 0, slow: [], failure: undefined });
  useEffect(() => onActivity(setActivity), []);
  return (
    <div class="activity" aria-live="polite">
      {activity.slow.length > 0 ? <p class="slow">Still waiting for the server ({activity.slow.join(', ')})…</p> : null}
      {activity.failure ? (
        <p class="failed" role="alert">
          {activity.failure}{' '}
          <button type="button" onClick={dismissFailure}>
            Dismiss
          </button>
        </p>
      ) : null}
    </div>
  );
}
