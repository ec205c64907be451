import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, described, Field, FormProblems, Loaded, PageTitle, useApi, useForm, When } from '../components.js';
import { href } from '../lib/route.js';
import type { Caller, Evidence, Exception, MailServer } from '../types.js';
import { addressStanding, EvidenceList } from './evidence.js';
import { Exceptions } from './organization.js';

type Scope = 'pair' | 'ip' | 'helo';

/** What the API will ask of this grant, read off the server's current evidence (the API decides; this only shows what it will look at). */
export function grantNeeds(evidence: Evidence, scope: Scope): { proof: string[]; missing: string[]; approvals: string[] } {
  const proof: string[] = [];
  const missing: string[] = [];
  const approvals: string[] = [];
  if (scope === 'helo') {
    (evidence.helo.proven ? proof : missing).push(`HELO name ${evidence.helo.heloHostname}: ${evidence.helo.reason}`);
    approvals.push('helo scope: an admin must approve (helo_scope) — any address may use this name');
  } else {
    for (const address of evidence.addressEvidence) {
      const standing = addressStanding(address);
      (standing === 'unproven' ? missing : proof).push(`${address.address} ${standing}: ${address.reason}`);
    }
    if (evidence.addressEvidence.some((address) => addressStanding(address) === 'claimed')) {
      approvals.push('addresses proven by SPF alone (the customer\'s own claim): a second person must approve (spf_only)');
    }
  }
  if (missing.length > 0) {
    approvals.push('proof missing: only an admin can grant, as an override with a written justification, approved by a second person (override)');
  }
  return { proof, missing, approvals };
}

export function MailServerPage({ id, caller }: { id: string; caller: Caller }) {
  const server = useApi<MailServer>(`/v1/mail-servers/${id}`);
  const writer = caller.role === 'csr' || caller.role === 'admin';
  const [round, setRound] = useState(0);
  const evidence = useApi<Evidence>(writer ? `/v1/mail-servers/${id}/ownership` : null, [round]);
  const recheck = useForm([]);
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
          {writer && evidence.data ? <GrantForm server={found} evidence={evidence.data} admin={caller.role === 'admin'} /> : null}
          <Exceptions path={`/v1/exceptions?mailServerId=${id}`} title="Exceptions of this server" />
        </>
      )}
    </Loaded>
  );
}

function GrantForm({ server, evidence, admin }: { server: MailServer; evidence: Evidence; admin: boolean }) {
  const [scope, setScope] = useState<Scope>('pair');
  const [reason, setReason] = useState('');
  const [ticketRef, setTicketRef] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const [justification, setJustification] = useState('');
  const [granted, setGranted] = useState<Exception | undefined>();
  const form = useForm(['scope', 'reason', 'ticketRef', 'expiresAt', 'justification']);
  const needs = grantNeeds(evidence, scope);
  const override = needs.missing.length > 0;
  return (
    <section aria-labelledby="grant-heading">
      <h2 id="grant-heading">Grant an exception</h2>
      <form
        class="boxed"
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await form.submit(() =>
            api<Exception>('POST', '/v1/exceptions', {
              mailServerId: server.id,
              scope,
              reason: reason.trim(),
              ...(ticketRef.trim() ? { ticketRef: ticketRef.trim() } : {}),
              ...(expiresAt ? { expiresAt: new Date(`${expiresAt}T23:59:59Z`).toISOString() } : {}),
              ...(override && justification.trim() ? { justification: justification.trim() } : {}),
            }),
          );
          if (result) setGranted(result);
        }}
      >
        <Field id="grant-scope" label="Scope" error={form.errors.scope}>
          <select {...(described('grant-scope', form.errors.scope) as object)} name="scope" value={scope} onChange={(event) => setScope(event.currentTarget.value as Scope)}>
            <option value="pair">pair — this HELO name from these addresses (recommended)</option>
            <option value="ip">ip — any HELO name from these addresses</option>
            <option value="helo">helo — this HELO name from any address (admin only)</option>
          </select>
        </Field>
        <div class="needs" aria-live="polite">
          <h3>What this grant will need</h3>
          {needs.proof.length ? (
            <>
              <p>Proof present:</p>
              <ul>
                {needs.proof.map((line) => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            </>
          ) : null}
          {needs.missing.length ? (
            <>
              <p>Proof missing:</p>
              <ul>
                {needs.missing.map((line) => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            </>
          ) : null}
          <p>{needs.approvals.length ? 'Four eyes: it will wait for approval because' : 'Nothing here calls for a second person: it should be active at once.'}</p>
          {needs.approvals.length ? (
            <ul>
              {needs.approvals.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          ) : null}
          <p class="muted">The API also screens DNS blocklists and applies the limits on prefix width and duration; the answer below says where the request stands.</p>
        </div>
        <Field id="grant-reason" label="Reason" error={form.errors.reason}>
          <input {...described('grant-reason', form.errors.reason)} name="reason" value={reason} required maxLength={2000} onInput={(event) => setReason(event.currentTarget.value)} />
        </Field>
        <Field id="grant-ticket" label="Ticket reference (optional)" error={form.errors.ticketRef}>
          <input {...described('grant-ticket', form.errors.ticketRef)} name="ticketRef" value={ticketRef} maxLength={100} onInput={(event) => setTicketRef(event.currentTarget.value)} />
        </Field>
        <Field id="grant-expires" label="Expires on (optional; the default is 90 days)" error={form.errors.expiresAt}>
          <input {...described('grant-expires', form.errors.expiresAt)} type="date" name="expiresAt" value={expiresAt} onInput={(event) => setExpiresAt(event.currentTarget.value)} />
        </Field>
        {override ? (
          <Field id="grant-justification" label={admin ? 'Justification for the override' : 'Justification (an admin must grant an override)'} error={form.errors.justification}>
            <textarea {...(described('grant-justification', form.errors.justification) as object)} name="justification" value={justification} maxLength={2000} onInput={(event) => setJustification(event.currentTarget.value)} />
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
