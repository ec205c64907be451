import { useEffect, useState } from 'preact/hooks';
import { api, listAll } from '../api.js';
import { Badge, described, Field, FormProblems, PageTitle, ProblemMessage, toProblem, useForm, When } from '../components.js';
import type { Problem } from '../lib/problems.js';
import { queueFor, waitingRequest } from '../lib/approvals.js';
import { href } from '../lib/route.js';
import type { Caller, Exception } from '../types.js';

interface BulkOutcome {
  id: string;
  outcome: 'approved' | 'rejected' | 'failed';
  problem?: Problem;
}

/** The evidence recorded at request time, in one line. */
function evidenceSummary(evidence: unknown): string {
  const addresses = (evidence as { addressEvidence?: { address: string; proven: boolean; method: string | null }[] } | null)?.addressEvidence ?? [];
  return addresses.map((item) => `${item.address} ${item.proven ? (item.method === 'spf' ? 'claimed (SPF)' : 'proven') : 'unproven'}`).join(', ');
}

/** What waits for the signed-in person: others' pending grants and renewals (never their own). */
export function ApprovalsPage({ caller }: { caller: Caller }) {
  const [round, setRound] = useState(0);
  const [state, setState] = useState<{ items?: Exception[]; problem?: Problem }>({});
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState('');
  const [outcomes, setOutcomes] = useState<BulkOutcome[] | undefined>();
  const form = useForm(['reason', 'ids']);
  const decider = caller.role === 'csr' || caller.role === 'admin';

  useEffect(() => {
    let live = true;
    listAll<Exception>('/v1/exceptions?awaitingApproval=true').then(
      (items) => live && setState({ items: queueFor(items, caller.owner) }),
      (error: unknown) => live && setState({ problem: toProblem(error) }),
    );
    return () => {
      live = false;
    };
  }, [round]);

  const items = state.items ?? [];
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const decide = (decision: 'approve' | 'reject', ids: string[]) => async () => {
    const answer = await form.submit(() =>
      api<{ results: BulkOutcome[] }>('POST', '/v1/exceptions/bulk-decisions', { ids, decision, ...(reason.trim() ? { reason: reason.trim() } : {}) }),
    );
    if (answer) {
      setOutcomes(answer.results);
      setSelected(new Set());
      setReason('');
      setRound(round + 1);
    }
  };

  return (
    <>
      <PageTitle>Approvals</PageTitle>
      <p>Grants and renewals waiting for a second person. Your own requests are not listed: another person must decide them.</p>
      {state.problem ? <ProblemMessage problem={state.problem} context="Could not load the queue" /> : null}
      {state.items === undefined && !state.problem ? <p role="status">Loading the queue…</p> : null}
      {outcomes ? (
        <div class="outcome" role="status">
          <p>
            {outcomes.filter((item) => item.outcome !== 'failed').length} decided, {outcomes.filter((item) => item.outcome === 'failed').length} refused.
          </p>
          <ul>
            {outcomes
              .filter((item) => item.outcome === 'failed')
              .map((item) => (
                <li key={item.id}>
                  <a href={href({ page: 'exception', id: item.id })}>{item.id}</a>: {item.problem?.detail ?? item.problem?.title}
                </li>
              ))}
          </ul>
        </div>
      ) : null}
      {state.items && items.length === 0 ? <p>Nothing waits for you.</p> : null}
      {items.length > 0 && decider ? (
        <form class="boxed batch" onSubmit={(event) => event.preventDefault()} aria-label="Decide the selected requests">
          <p>
            <button type="button" onClick={() => setSelected(selected.size === items.length ? new Set() : new Set(items.map((item) => item.id)))}>
              {selected.size === items.length ? 'Select none' : `Select all ${items.length}`}
            </button>{' '}
            {selected.size} selected
          </p>
          <Field id="batch-reason" label="Reason (required to reject; kept with each approval when given)" error={form.errors.reason}>
            <input {...described('batch-reason', form.errors.reason)} name="reason" value={reason} maxLength={2000} onInput={(event) => setReason(event.currentTarget.value)} />
          </Field>
          <FormProblems general={form.general} />
          <div class="actions">
            <button type="button" disabled={form.busy || selected.size === 0} onClick={decide('approve', [...selected])}>
              Approve selected
            </button>
            <button type="button" disabled={form.busy || selected.size === 0} onClick={decide('reject', [...selected])}>
              Reject selected
            </button>
          </div>
        </form>
      ) : null}
      <ul class="queue">
        {items.map((item) => {
          const waiting = waitingRequest(item);
          return (
            <li key={item.id} class="card">
              {decider ? (
                <input type="checkbox" id={`pick-${item.id}`} checked={selected.has(item.id)} onChange={() => toggle(item.id)} />
              ) : null}
              <div>
                <label for={decider ? `pick-${item.id}` : undefined}>
                  {waiting.kind === 'renewal' ? 'Renewal: ' : null}
                  <strong>{item.heloHostname}</strong> ({item.scope}) from {item.addresses.join(', ')}
                </label>{' '}
                <Badge status={waiting.kind === 'renewal' ? 'renewal_pending' : item.status} />
                {waiting.kind === 'renewal' && item.renewal ? (
                  <p>
                    Runs until <When at={item.expiresAt} />; asked to run until <When at={item.renewal.expiresAt} />.
                  </p>
                ) : null}
                <p>
                  Needs approval because: {waiting.approvalReasons.join(', ') || '—'}. Evidence{waiting.kind === 'renewal' ? ' (at grant time)' : ''}:{' '}
                  {evidenceSummary(item.evidence) || (item.override ? 'none (override)' : '—')}.
                </p>
                <p>
                  {waiting.kind === 'renewal' ? (
                    <>
                      Renewal asked by {waiting.requestedByOwner}; granted for: “{item.reason}”
                    </>
                  ) : (
                    <>
                      Asked by {item.requestedByOwner} <When at={item.createdAt} />: “{item.reason}”
                    </>
                  )}
                  {item.justification ? ` — justification: ${item.justification}` : ''}
                </p>
                <p>
                  <a href={href({ page: 'exception', id: item.id })}>Open the request</a>
                  {decider ? (
                    <>
                      {' '}
                      ·{' '}
                      <button type="button" class="link" disabled={form.busy} onClick={decide('approve', [item.id])}>
                        Approve this one
                      </button>
                    </>
                  ) : null}
                </p>
              </div>
            </li>
          );
        })}
      </ul>
    </>
  );
}
