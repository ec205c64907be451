import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, described, Field, FormProblems, Loaded, PageTitle, ProblemMessage, toProblem, useApi, useForm, When } from '../components.js';
import { describeReason, grantBody, previewBody, verdictOf, type GrantDraft, type GrantPreview } from '../lib/grant-preview.js';
import { problemsByField, type Problem } from '../lib/problems.js';
import { href } from '../lib/route.js';
import type { Caller, Evidence, Exception, MailServer } from '../types.js';
import { addressStanding, EvidenceList } from './evidence.js';
import { Exceptions } from './organization.js';

/** Preview requests wait this long after the last keystroke or choice. */
const PREVIEW_DELAY_MS = 400;

/**
 * What the API says a grant with this body would do (POST /v1/exceptions/preview),
 * asked again a moment after each change: the console holds no rule of its own.
 * Only the latest answer counts.
 */
function useGrantPreview(body: Record<string, string>, refresh: unknown): { preview?: GrantPreview; problem?: Problem; loading: boolean } {
  const [state, setState] = useState<{ preview?: GrantPreview; problem?: Problem; loading: boolean }>({ loading: true });
  const key = JSON.stringify(body);
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    const timer = setTimeout(() => {
      api<GrantPreview>('POST', '/v1/exceptions/preview', body).then(
        (preview) => live && setState({ preview, loading: false }),
        (error: unknown) => live && setState({ problem: toProblem(error), loading: false }),
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, refresh]);
  return state;
}

export function MailServerPage({ id, caller }: { id: string; caller: Caller }) {
  const server = useApi<MailServer>(`/v1/mail-servers/${id}`);
  const writer = caller.role === 'csr' || caller.role === 'admin';
  const [round, setRound] = useState(0);
  const evidence = useApi<Evidence>(writer ? `/v1/mail-servers/${id}/ownership` : null, [round]);
  const recheck = useForm([]);
  const [grants, setGrants] = useState(0);
  return (
    <Loaded state={server} what="the mail server">
      {(found) => (
        <>
          <PageTitle>Mail server {found.heloHostname}</PageTitle>
          <p>
            Addresses {found.addresses.join(', ')}. <a href={href({ page: 'organization', id: found.organizationId })}>Organization</a> ·{' '}
            <a href={href({ page: 'timeline', entity: 'mail-servers', id })}>Timeline</a> ·{' '}
            <a href={href({ page: 'diagnose', helo: found.heloHostname, ip: found.addresses[0]?.replace(/\/(32|128)$/, '') ?? '' })}>Diagnose</a>
          </p>
          {writer ? (
            <section aria-labelledby="evidence-heading">
              <h2 id="evidence-heading">Ownership evidence</h2>
              <Loaded state={evidence} what="the evidence">
                {(current) => <EvidenceList evidence={current} />}
              </Loaded>
              <button
                type="button"
                disabled={recheck.busy}
                onClick={async () => {
                  await recheck.submit(() => api('POST', `/v1/mail-servers/${id}/ownership/check`));
                  setRound(round + 1);
                }}
              >
                {recheck.busy ? 'Checking DNS…' : 'Check ownership again'}
              </button>
              <FormProblems general={recheck.general} />
            </section>
          ) : null}
          {writer && evidence.data ? <GrantForm server={found} evidence={evidence.data} admin={caller.role === 'admin'} onGranted={() => setGrants(grants + 1)} /> : null}
          {/* Read again after a grant, so the new request is listed at once. */}
          <Exceptions key={grants} path={`/v1/exceptions?mailServerId=${id}`} title="Exceptions of this server" />
        </>
      )}
    </Loaded>
  );
}

function GrantForm({ server, evidence, admin, onGranted }: { server: MailServer; evidence: Evidence; admin: boolean; onGranted: () => void }) {
  const [draft, setDraft] = useState<GrantDraft>({ mailServerId: server.id, scope: 'pair', reason: '', ticketRef: '', expiresOn: '', justification: '' });
  const [granted, setGranted] = useState<Exception | undefined>();
  const form = useForm(['scope', 'reason', 'ticketRef', 'expiresAt', 'justification']);
  // Asked again when the evidence is re-checked, and after a grant (a running exception changes the answer).
  const { preview, problem, loading } = useGrantPreview(previewBody(draft), `${evidence.addressEvidence.map((item) => item.proven).join()}/${granted?.id ?? ''}`);
  const set = (field: keyof GrantDraft) => (event: { currentTarget: { value: string } }) => setDraft({ ...draft, [field]: event.currentTarget.value });
  // The preview's own objections to a field (a justification too short, say) show next to it until the grant is sent.
  const previewFields = problemsByField(problem, ['scope', 'expiresAt', 'justification']).fields;
  const errors = { ...previewFields, ...form.errors };
  const shownEvidence = (preview?.evidence as Evidence | undefined) ?? evidence;
  const present =
    draft.scope === 'helo'
      ? shownEvidence.helo.proven
        ? [`HELO name ${shownEvidence.helo.heloHostname}: ${shownEvidence.helo.reason}`]
        : []
      : shownEvidence.addressEvidence.filter((item) => item.proven).map((item) => `${item.address} ${addressStanding(item)}: ${item.reason}`);
  return (
    <section aria-labelledby="grant-heading">
      <h2 id="grant-heading">Grant an exception</h2>
      <form
        class="boxed"
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await form.submit(() => api<Exception>('POST', '/v1/exceptions', grantBody(draft)));
          if (result) {
            setGranted(result);
            onGranted();
          }
        }}
      >
        <Field id="grant-scope" label="Scope" error={errors.scope}>
          <select {...(described('grant-scope', errors.scope) as object)} name="scope" value={draft.scope} onChange={set('scope')}>
            <option value="pair">pair — this HELO name from these addresses (recommended)</option>
            <option value="ip">ip — any HELO name from these addresses</option>
            <option value="helo">helo — this HELO name from any address (admin only)</option>
          </select>
        </Field>
        <div class="needs" aria-live="polite" aria-busy={loading}>
          <h3>What this grant will need</h3>
          {problem && !problem.errors?.length ? <ProblemMessage problem={problem} context="Could not ask the API what this grant would do" /> : null}
          {!preview && !problem ? <p role="status">Asking the API what this grant would do…</p> : null}
          {preview ? (
            <>
              {present.length ? (
                <>
                  <p>Proof present:</p>
                  <ul>
                    {present.map((line) => (
                      <li key={line}>{line}</li>
                    ))}
                  </ul>
                </>
              ) : null}
              {preview.missingProof.length ? (
                <>
                  <p>Proof missing (only an admin can grant, as an override with a written justification):</p>
                  <ul>
                    {preview.missingProof.map((line) => (
                      <li key={line}>{line}</li>
                    ))}
                  </ul>
                </>
              ) : null}
              {preview.blocklistListings ? <p>On a DNS blocklist: {preview.blocklistListings}</p> : null}
              <p class={`verdict ${preview.outcome}`}>{verdictOf(preview)}</p>
              {preview.outcome !== 'active' && preview.approvalReasons.length ? (
                <>
                  {preview.outcome === 'refused' ? <p>Once that is settled, it would wait for {preview.adminApproval ? 'an admin' : 'a second person'} because:</p> : null}
                  <ul class="reasons">
                    {preview.approvalReasons.map((code) => (
                      <li key={code}>{describeReason(code)}</li>
                    ))}
                  </ul>
                </>
              ) : null}
              {loading ? <p class="muted">Checking again…</p> : null}
            </>
          ) : null}
        </div>
        <Field id="grant-reason" label="Reason" error={form.errors.reason}>
          <input {...described('grant-reason', form.errors.reason)} name="reason" value={draft.reason} required maxLength={2000} onInput={set('reason')} />
        </Field>
        <Field id="grant-ticket" label="Ticket reference (optional)" error={form.errors.ticketRef}>
          <input {...described('grant-ticket', form.errors.ticketRef)} name="ticketRef" value={draft.ticketRef} maxLength={100} onInput={set('ticketRef')} />
        </Field>
        <Field id="grant-expires" label="Expires on (optional; the default is 90 days)" error={errors.expiresAt}>
          <input {...described('grant-expires', errors.expiresAt)} type="date" name="expiresAt" value={draft.expiresOn} onInput={set('expiresOn')} />
        </Field>
        {preview?.justificationNeeded || draft.justification ? (
          <Field
            id="grant-justification"
            label={admin ? 'Justification for the override' : 'Justification (an admin must grant an override)'}
            error={errors.justification}
          >
            <textarea {...(described('grant-justification', errors.justification) as object)} name="justification" value={draft.justification} maxLength={2000} onInput={set('justification')} />
          </Field>
        ) : null}
        <FormProblems general={form.general} />
        <button type="submit" disabled={form.busy}>
          {form.busy ? 'Granting…' : 'Grant'}
        </button>
      </form>
      {granted ? (
        <div class="outcome" role="status">
          <p>
            <a href={href({ page: 'exception', id: granted.id })}>The exception</a> is <Badge status={granted.status} />
            {granted.status === 'pending_approval' ? <> — waiting for another person because: {granted.approvalReasons.join(', ')}.</> : <> until <When at={granted.expiresAt} />.</>}
          </p>
        </div>
      ) : null}
    </section>
  );
}
