import { useState } from 'preact/hooks';
import { described, Field, Loaded, PageTitle, useApi } from '../components.js';
import { href } from '../lib/route.js';
import type { Diagnosis } from '../types.js';
import { DiagnosisView } from './diagnosis-view.js';

/** HELO name + client address → the verdict, the facts, the owner, the exception, the advice. */
export function DiagnosePage({ helo, ip, publicCheck = false }: { helo: string; ip: string; publicCheck?: boolean }) {
  const [heloInput, setHelo] = useState(helo);
  const [ipInput, setIp] = useState(ip);
  const query = new URLSearchParams({ helo });
  if (ip) query.set('ip', ip);
  const path = helo ? `${publicCheck ? '/v1/public/helo-check' : '/v1/diagnostics/helo'}?${query}` : null;
  const result = useApi<Diagnosis>(path);
  const invalid = result.error?.errors ?? [];
  const fieldError = (field: string) => invalid.find((error) => error.field === field)?.message;
  return (
    <>
      <PageTitle>{publicCheck ? 'Check a mail server\'s HELO name' : 'Diagnose'}</PageTitle>
      {publicCheck ? (
        <p>
          Enter the name your mail server announces in HELO/EHLO and the address it sends from: this page tells what our mail servers answer, the DNS facts
          behind it, and how to fix it.
        </p>
      ) : null}
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          const next = new URLSearchParams({ helo: heloInput.trim() });
          if (ipInput.trim()) next.set('ip', ipInput.trim());
          if (publicCheck) {
            history.replaceState(null, '', `/check?${next}`);
            dispatchEvent(new HashChangeEvent('hashchange'));
          } else {
            location.hash = href({ page: 'diagnose', helo: heloInput.trim(), ip: ipInput.trim() });
          }
        }}
      >
        <Field id="helo" label="HELO name, as the server announces it" error={fieldError('helo')}>
          <input {...described('helo', fieldError('helo'))} name="helo" value={heloInput} required maxLength={512} autoComplete="off" spellcheck={false} onInput={(event) => setHelo(event.currentTarget.value)} />
        </Field>
        <Field id="ip" label="Client address" error={fieldError('ip')}>
          <input {...described('ip', fieldError('ip'))} name="ip" value={ipInput} maxLength={64} autoComplete="off" spellcheck={false} onInput={(event) => setIp(event.currentTarget.value)} />
        </Field>
        <button type="submit">{publicCheck ? 'Check' : 'Diagnose'}</button>
      </form>
      {path && !(result.error?.errors?.length) ? <Loaded state={result} what="the diagnosis">{(diagnosis) => <DiagnosisView diagnosis={diagnosis} />}</Loaded> : null}
    </>
  );
}
