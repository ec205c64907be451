import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, described, Field, FormProblems, Loaded, PageTitle, useApi, useForm, When } from '../components.js';
import { href } from '../lib/route.js';
import type { Caller, Exception } from '../types.js';
import { Timeline } from './timeline.js';

export function ExceptionPage({ id, caller }: { id: string; caller: Caller }) {
  const [round, setRound] = useState(0);
  const exception = useApi<Exception>(`/v1/exceptions/${id}`, [round]);
  return (
    <Loaded state={exception} what="the exception">
      {(found) => (
        <>
          <PageTitle>
            Exception for {found.heloHostname} ({found.scope})
          </PageTitle>
          <ExceptionFacts exception={found} />
          <Decide exception={found} caller={caller} onDecided={() => setRound(round + 1)} />
          <section aria-labelledby="history-heading">
            <h2 id="history-heading">History</h2>
            <Timeline key={round} entity="exceptions" id={id} />
          </section>
        </>
      )}
    </Loaded>
  );
}

export function ExceptionFacts({ exception }: { exception: Exception }) {
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd>
        <Badge status={exception.status} />
        {exception.suspensionCauses.length ? ` (${exception.suspensionCauses.join(', ')})` : ''}
      </dd>
      <dt>Covers</dt>
      <dd>
        <code>{exception.heloHostname}</code> from {exception.addresses.join(', ')} — <a href={href({ page: 'mail-server', id: exception.mailServerId })}>mail server</a>,{' '}
        <a href={href({ page: 'organization', id: exception.organizationId })}>organization</a>
      </dd>
      <dt>Runs</dt>
      <dd>
        <When at={exception.startsAt} /> to <When at={exception.expiresAt} />
        {exception.renewal ? (
          <>
            {' '}
            (renewal to <When at={exception.renewal.expiresAt} /> asked by {exception.renewal.requestedByOwner}
            {exception.renewal.approvalReasons.length ? `, waiting for approval because: ${exception.renewal.approvalReasons.join(', ')}` : ''})
          </>
        ) : null}
      </dd>
      <dt>Reason</dt>
      <dd>
        {exception.reason}
        {exception.ticketRef ? ` (ticket ${exception.ticketRef})` : ''}
      </dd>
      {exception.override ? (
        <>
          <dt>Override</dt>
          <dd>{exception.justification}</dd>
        </>
      ) : null}
      <dt>Requested by</dt>
      <dd>{exception.requestedByOwner}</dd>
      {exception.approvalReasons.length ? (
        <>
          <dt>Needs approval because</dt>
          <dd>{exception.approvalReasons.join(', ')}</dd>
        </>
      ) : null}
      {exception.approvedByOwner ? (
        <>
          <dt>Approved by</dt>
          <dd>
            {exception.approvedByOwner} <When at={exception.approvedAt} />
            {exception.approvalNote ? `: ${exception.approvalNote}` : ''}
          </dd>
        </>
      ) : null}
      {exception.rejectedByOwner ? (
        <>
          <dt>Rejected by</dt>
          <dd>
            {exception.rejectedByOwner}: {exception.rejectionReason}
          </dd>
        </>
      ) : null}
      {exception.revokedAt ? (
        <>
          <dt>Revoked</dt>
          <dd>
            <When at={exception.revokedAt} />: {exception.revokeReason}
          </dd>
        </>
      ) : null}
      <dt>Usage</dt>
      <dd>
        {exception.matchCount} matches{exception.lastMatchedAt ? <>, last <When at={exception.lastMatchedAt} /></> : ', never matched yet'}
      </dd>
    </dl>
  );
}

function Decide({ exception, caller, onDecided }: { exception: Exception; caller: Caller; onDecided: () => void }) {
  const [reason, setReason] = useState('');
  const form = useForm(['reason']);
  if (caller.role !== 'csr' && caller.role !== 'admin') return null;
  const pending = exception.status === 'pending_approval' || exception.renewal !== null;
  const running = ['active', 'suspended', 'pending_approval'].includes(exception.status);
  const own = (exception.renewal?.requestedByOwner ?? exception.requestedByOwner) === caller.owner;
  if (!running) return null;
  const act = (action: 'approve' | 'reject' | 'revoke') => async () => {
    const done = await form.submit(() => api<Exception>('POST', `/v1/exceptions/${exception.id}/${action}`, action === 'approve' ? (reason.trim() ? { reason: reason.trim() } : undefined) : { reason: reason.trim() }));
    if (done) {
      setReason('');
      onDecided();
    }
  };
  return (
    <section aria-labelledby="decide-heading">
      <h2 id="decide-heading">Decide</h2>
      <form class="boxed" onSubmit={(event) => event.preventDefault()}>
        {pending && own ? <p>You asked for this: another person must decide it.</p> : null}
        <Field id="decision-reason" label="Reason (required to reject or revoke; optional to approve)" error={form.errors.reason}>
          <input {...described('decision-reason', form.errors.reason)} name="reason" value={reason} maxLength={2000} onInput={(event) => setReason(event.currentTarget.value)} />
        </Field>
        <FormProblems general={form.general} />
        <div class="actions">
          {pending && !own ? (
            <>
              <button type="button" disabled={form.busy} onClick={act('approve')}>
                Approve
              </button>
              <button type="button" disabled={form.busy} onClick={act('reject')}>
                Reject
              </button>
            </>
          ) : null}
          <button type="button" class="danger" disabled={form.busy} onClick={act('revoke')}>
            Revoke
          </button>
        </div>
      </form>
    </section>
  );
}
