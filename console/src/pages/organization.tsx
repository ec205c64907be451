import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, CopyButton, described, Field, FormProblems, Loaded, PageTitle, ProblemMessage, useApi, useForm, When } from '../components.js';
import { href } from '../lib/route.js';
import type { Caller, Domain, DomainCheck, Evidence, Exception, MailServer, Organization, Page } from '../types.js';
import { EvidenceList } from './evidence.js';

export function OrganizationPage({ id, caller }: { id: string; caller: Caller }) {
  const organization = useApi<Organization>(`/v1/organizations/${id}`);
  const writer = caller.role === 'csr' || caller.role === 'admin';
  return (
    <Loaded state={organization} what="the organization">
      {(org) => (
        <>
          <PageTitle>{org.name}</PageTitle>
          <p>
            <Badge status={org.status} /> {org.customerRef ? <>Customer reference {org.customerRef}. </> : null}
            {org.notes ? <span>{org.notes} </span> : null}
            <a href={href({ page: 'timeline', entity: 'organizations', id })}>Timeline</a>
          </p>
          <MailServers organizationId={id} writer={writer} />
          <Domains organizationId={id} writer={writer} />
          <Exceptions path={`/v1/exceptions?organizationId=${id}`} />
        </>
      )}
    </Loaded>
  );
}

function MailServers({ organizationId, writer }: { organizationId: string; writer: boolean }) {
  const [round, setRound] = useState(0);
  const servers = useApi<Page<MailServer>>(`/v1/organizations/${organizationId}/mail-servers?limit=200`, [round]);
  const list = { items: servers.data?.items };
  return (
    <section aria-labelledby="servers-heading">
      <h2 id="servers-heading">Mail servers</h2>
      {servers.error ? <ProblemMessage problem={servers.error} context="Could not load the mail servers" /> : null}
      {servers.data === undefined && !servers.error ? <p role="status">Loading mail servers…</p> : null}
      {list.items?.length === 0 ? <p>No mail server yet.</p> : null}
      {list.items && list.items.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">HELO name</th>
              <th scope="col">Addresses</th>
              <th scope="col">Ownership evidence</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((server) => (
              <tr key={server.id}>
                <td>
                  <a href={href({ page: 'mail-server', id: server.id })}>{server.heloHostname}</a>
                  {server.description ? <div class="muted">{server.description}</div> : null}
                </td>
                <td>{server.addresses.join(', ')}</td>
                <td>{writer ? <ServerEvidence id={server.id} /> : <span class="muted">shown to csr and admin</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {writer ? <NewMailServer organizationId={organizationId} onCreated={() => setRound(round + 1)} /> : null}
    </section>
  );
}

function ServerEvidence({ id }: { id: string }) {
  const evidence = useApi<Evidence>(`/v1/mail-servers/${id}/ownership`);
  return <Loaded state={evidence} what="evidence">{(found) => <EvidenceList evidence={found} />}</Loaded>;
}

/** Addresses typed one per line, or separated by commas or spaces. */
const splitAddresses = (text: string) => text.split(/[\s,]+/).filter((part) => part !== '');

function NewMailServer({ organizationId, onCreated }: { organizationId: string; onCreated: () => void }) {
  const [helo, setHelo] = useState('');
  const [addresses, setAddresses] = useState('');
  const [description, setDescription] = useState('');
  const form = useForm(['heloHostname', 'addresses', 'description']);
  return (
    <form
      class="boxed"
      aria-labelledby="new-server-heading"
      onSubmit={async (event) => {
        event.preventDefault();
        const created = await form.submit(() =>
          api<MailServer>('POST', `/v1/organizations/${organizationId}/mail-servers`, {
            heloHostname: helo.trim(),
            addresses: splitAddresses(addresses),
            ...(description.trim() ? { description: description.trim() } : {}),
          }),
        );
        if (created) {
          setHelo('');
          setAddresses('');
          setDescription('');
          onCreated();
        }
      }}
    >
      <h3 id="new-server-heading">Add a mail server</h3>
      <Field id="server-helo" label="HELO name, as the server announces it" error={form.errors.heloHostname}>
        <input {...described('server-helo', form.errors.heloHostname)} name="heloHostname" value={helo} required maxLength={253} spellcheck={false} onInput={(event) => setHelo(event.currentTarget.value)} />
      </Field>
      <Field id="server-addresses" label="Addresses (addresses or prefixes, separated by commas)" error={form.errors.addresses}>
        <input {...described('server-addresses', form.errors.addresses)} name="addresses" value={addresses} required maxLength={2000} spellcheck={false} onInput={(event) => setAddresses(event.currentTarget.value)} />
      </Field>
      <Field id="server-description" label="Description (optional)" error={form.errors.description}>
        <input {...described('server-description', form.errors.description)} name="description" value={description} maxLength={500} onInput={(event) => setDescription(event.currentTarget.value)} />
      </Field>
      <FormProblems general={form.general} />
      <button type="submit" disabled={form.busy}>
        Add mail server
      </button>
    </form>
  );
}

function Domains({ organizationId, writer }: { organizationId: string; writer: boolean }) {
  const [round, setRound] = useState(0);
  const domains = useApi<Page<Domain>>(`/v1/organizations/${organizationId}/domains?limit=200`, [round]);
  const [name, setName] = useState('');
  const form = useForm(['name']);
  return (
    <section aria-labelledby="domains-heading">
      <h2 id="domains-heading">Domains</h2>
      <Loaded state={domains} what="the domains">
        {(page) => (page.items.length === 0 ? <p>No domain yet.</p> : <>{page.items.map((domain) => <DomainCard key={domain.id} domain={domain} writer={writer} onChanged={() => setRound(round + 1)} />)}</>)}
      </Loaded>
      {writer ? (
        <form
          class="boxed"
          aria-labelledby="new-domain-heading"
          onSubmit={async (event) => {
            event.preventDefault();
            const created = await form.submit(() => api<Domain>('POST', `/v1/organizations/${organizationId}/domains`, { name: name.trim() }));
            if (created) {
              setName('');
              setRound(round + 1);
            }
          }}
        >
          <h3 id="new-domain-heading">Claim a domain</h3>
          <Field id="domain-name" label="Domain name" error={form.errors.name} hint="A TXT record to publish is issued at once: read it to the customer.">
            <input {...described('domain-name', form.errors.name, 'hint')} name="name" value={name} required maxLength={253} spellcheck={false} onInput={(event) => setName(event.currentTarget.value)} />
          </Field>
          <FormProblems general={form.general} />
          <button type="submit" disabled={form.busy}>
            Add domain
          </button>
        </form>
      ) : null}
    </section>
  );
}

function DomainCard({ domain, writer, onChanged }: { domain: Domain; writer: boolean; onChanged: () => void }) {
  const [round, setRound] = useState(0);
  const attempts = useApi<Page<DomainCheck>>(`/v1/domains/${domain.id}/attempts?limit=20`, [round]);
  const verify = useForm([]);
  const { challenge } = domain;
  return (
    <article class="card" aria-labelledby={`domain-${domain.id}`}>
      <h3 id={`domain-${domain.id}`}>
        {domain.name} <Badge status={domain.status} />
      </h3>
      {domain.status !== 'verified' ? (
        <>
          <p>Ask the customer to publish this DNS record, then check it:</p>
          <dl class="record">
            <dt>Name</dt>
            <dd>
              <code>{challenge.recordName}</code> <CopyButton value={challenge.recordName} label="record name" />
            </dd>
            <dt>Type</dt>
            <dd>
              <code>{challenge.recordType}</code>
            </dd>
            <dt>Value</dt>
            <dd>
              <code>{challenge.recordValue}</code> <CopyButton value={challenge.recordValue} label="record value" />
            </dd>
            <dt>Valid until</dt>
            <dd>
              <When at={challenge.expiresAt} />
            </dd>
          </dl>
        </>
      ) : (
        <p>
          Verified <When at={domain.verifiedAt} />.
        </p>
      )}
      <p>
        <a href={href({ page: 'timeline', entity: 'domains', id: domain.id })}>Timeline</a>
      </p>
      {writer ? (
        <p>
          <button
            type="button"
            disabled={verify.busy}
            onClick={async () => {
              await verify.submit(() => api('POST', `/v1/domains/${domain.id}/verify`));
              setRound(round + 1);
              onChanged();
            }}
          >
            {verify.busy ? 'Checking DNS…' : 'Check the record now'}
          </button>
        </p>
      ) : null}
      <FormProblems general={verify.general} />
      <details>
        <summary>Verification attempts</summary>
        <Loaded state={attempts} what="the attempts">
          {(page) =>
            page.items.length === 0 ? (
              <p>No attempt yet.</p>
            ) : (
              <ul class="attempts">
                {page.items.map((attempt) => (
                  <li key={attempt.id}>
                    <When at={attempt.checkedAt} /> {attempt.outcome} ({attempt.statusBefore} → {attempt.statusAfter}): {attempt.detail}
                    <ul>
                      {attempt.resolvers.map((finding) => (
                        <li key={finding.resolver}>
                          {finding.resolver}: {finding.status}
                          {finding.values.length ? ` — saw ${finding.values.map((value) => `"${value}"`).join(', ')}` : ''}
                          {finding.error ? ` (${finding.error})` : ''}
                        </li>
                      ))}
                    </ul>
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </details>
    </article>
  );
}

export function Exceptions({ path, title = 'Exceptions' }: { path: string; title?: string }) {
  const exceptions = useApi<Page<Exception>>(`${path}&limit=100`);
  return (
    <section aria-labelledby="exceptions-heading">
      <h2 id="exceptions-heading">{title}</h2>
      <Loaded state={exceptions} what="the exceptions">
        {(page) =>
          page.items.length === 0 ? (
            <p>No exception.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Exception</th>
                  <th scope="col">Status</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Usage</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((exception) => (
                  <tr key={exception.id}>
                    <td>
                      <a href={href({ page: 'exception', id: exception.id })}>
                        {exception.heloHostname} ({exception.scope})
                      </a>
                      <div class="muted">{exception.addresses.join(', ')}</div>
                    </td>
                    <td>
                      <Badge status={exception.status} />
                    </td>
                    <td>
                      <When at={exception.expiresAt} />
                    </td>
                    <td>
                      {exception.matchCount} matches{exception.lastMatchedAt ? <>, last <When at={exception.lastMatchedAt} /></> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </section>
  );
}
