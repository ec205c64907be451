import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { described, Field, FormProblems, PageTitle, useForm } from '../components.js';
import type { Session } from '../types.js';

/**
 * The API key is sent once, to be exchanged for a session cookie the page
 * cannot read; it is never written to browser storage and the field is
 * emptied at once.
 */
export function SignInPage({ onSignedIn, ended }: { onSignedIn: (session: Session) => void; ended: boolean }) {
  const [key, setKey] = useState('');
  const form = useForm(['key']);
  return (
    <main id="main" class="narrow">
      <PageTitle>Sign in to HeloPass</PageTitle>
      {ended ? (
        <p class="notice" role="status">
          Your session has ended. Sign in again.
        </p>
      ) : null}
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const sent = key;
          setKey('');
          const session = await form.submit(() => api<Session>('POST', '/v1/console/session', { key: sent }));
          if (session) onSignedIn(session);
        }}
      >
        <Field id="key" label="API key" hint="Your admin, csr or auditor key. It is exchanged for a session and not kept by this page." error={form.errors.key}>
          <input
            {...described('key', form.errors.key, 'hint')}
            type="password"
            name="key"
            autoComplete="off"
            required
            maxLength={200}
            value={key}
            onInput={(event) => setKey(event.currentTarget.value)}
          />
        </Field>
        <FormProblems general={form.general} />
        <button type="submit" disabled={form.busy}>
          {form.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
