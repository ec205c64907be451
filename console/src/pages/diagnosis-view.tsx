import { href } from '../lib/route.js';
import { Badge, CopyButton, When } from '../components.js';
import type { Diagnosis, DnsAnswer } from '../types.js';

function Answer({ answer }: { answer: DnsAnswer }) {
  if (answer.status === 'skipped') return <span class="muted">not looked up</span>;
  return (
    <>
      <span>{answer.status === 'ok' ? answer.records.join(', ') || '(no records)' : answer.status}</span>
      {answer.error ? <span class="muted"> ({answer.error})</span> : null}
      {answer.resolver ? <span class="muted"> from {answer.resolver}</span> : null}
    </>
  );
}

/** A diagnosis, as a CSR reads it to a customer (the public check shows the same without owners and exception). */
export function DiagnosisView({ diagnosis }: { diagnosis: Diagnosis }) {
  const { postfix } = diagnosis;
  const verdict = postfix.rejected === true ? 'Rejected' : postfix.rejected === false ? 'Accepted' : 'Cannot tell';
  return (
    <div class="diagnosis">
      <section aria-labelledby="verdict-heading" class={`verdict ${postfix.rejected === true ? 'bad' : postfix.rejected === false ? 'good' : 'wait'}`}>
        <h2 id="verdict-heading">Verdict: {verdict}</h2>
        {postfix.reply ? (
          <p>
            Our servers answer: <code class="reply">{postfix.reply}</code> <CopyButton value={postfix.reply} label="the reply" />
          </p>
        ) : null}
        <p>{postfix.explanation}</p>
        {postfix.restriction ? (
          <p class="muted">
            Postfix restriction: <code>{postfix.restriction}</code>
          </p>
        ) : null}
      </section>
      <section aria-labelledby="advice-heading">
        <h2 id="advice-heading">What to do</h2>
        <ul class="advice">
          {diagnosis.advice.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="dns-heading">
        <h2 id="dns-heading">DNS facts</h2>
        <table>
          <tbody>
            <tr>
              <th scope="row">HELO name</th>
              <td>
                <code>{diagnosis.syntax.announced}</code> ({diagnosis.syntax.form.replace('_', ' ')}
                {diagnosis.syntax.valid ? ', valid' : `, invalid: ${diagnosis.syntax.problem ?? ''}`})
              </td>
            </tr>
            {diagnosis.neverPublic ? (
              <tr>
                <th scope="row">Public DNS</th>
                <td>never resolvable: {diagnosis.neverPublic}</td>
              </tr>
            ) : null}
            <tr>
              <th scope="row">A</th>
              <td>
                <Answer answer={diagnosis.dns.a} />
              </td>
            </tr>
            <tr>
              <th scope="row">AAAA</th>
              <td>
                <Answer answer={diagnosis.dns.aaaa} />
              </td>
            </tr>
            <tr>
              <th scope="row">MX</th>
              <td>
                <Answer answer={diagnosis.dns.mx} />
              </td>
            </tr>
            {diagnosis.client ? (
              <tr>
                <th scope="row">Client address</th>
                <td>
                  {diagnosis.client.address ?? diagnosis.client.problem}
                  {diagnosis.client.address ? (
                    <>
                      {' '}
                      — reverse DNS (PTR): <Answer answer={diagnosis.client.ptr} />
                    </>
                  ) : null}
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </section>
      {diagnosis.owners !== undefined ? (
        <section aria-labelledby="owner-heading">
          <h2 id="owner-heading">Owner and exception</h2>
          {diagnosis.owners.length === 0 ? (
            <p>No registered mail server has this HELO name and address.</p>
          ) : (
            <ul>
              {diagnosis.owners.map((owner) => (
                <li key={owner.mailServerId}>
                  <a href={href({ page: 'organization', id: owner.organizationId })}>{owner.organizationName}</a> <Badge status={owner.organizationStatus} /> —{' '}
                  <a href={href({ page: 'mail-server', id: owner.mailServerId })}>mail server</a>
                </li>
              ))}
            </ul>
          )}
          {diagnosis.exception ? (
            <p>
              Covered by <a href={href({ page: 'exception', id: diagnosis.exception.id })}>exception ({diagnosis.exception.scope})</a>{' '}
              <Badge status={diagnosis.exception.status} /> until <When at={diagnosis.exception.expiresAt} />.
            </p>
          ) : (
            <p>No exception covers this pair.</p>
          )}
        </section>
      ) : null}
    </div>
  );
}
