import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { Badge, described, Field, FormProblems, PageTitle, ProblemMessage, toProblem, useForm } from '../components.js';
import type { Problem } from '../lib/problems.js';
import { href } from '../lib/route.js';
import { planSearch } from '../lib/search.js';
import type { Caller, Exception, MailServer, Organization, Page } from '../types.js';

interface Results {
  organizations: Organization[];
  servers: MailServer[];
  exceptions: Exception[];
  /** Names of the organizations the servers and exceptions belong to. */
  names: Record<string, string>;
}

const EMPTY: Results = { organizations: [], servers: [], exceptions: [], names: {} };

/** Missing is an answer here (an id that is no exception), not a failure. */
async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 404) return null;
    throw error;
  }
}

async function search(q: string): Promise<Results> {
  const plan = planSearch(q);
  const results: Results = { organizations: [], servers: [], exceptions: [], names: {} };
  switch (plan.kind) {
    case 'empty':
      return EMPTY;
    case 'exception-id': {
      const [exception, organization, server] = await Promise.all([
        orNull(api<Exception>('GET', `/v1/exceptions/${plan.id}`)),
        orNull(api<Organization>('GET', `/v1/organizations/${plan.id}`)),
        orNull(api<MailServer>('GET', `/v1/mail-servers/${plan.id}`)),
      ]);
      if (exception) results.exceptions.push(exception);
      if (organization) results.organizations.push(organization);
      if (server) results.servers.push(server);
      break;
    }
    case 'address': {
      const query = encodeURIComponent(plan.address);
      const [servers, exceptions] = await Promise.all([
        api<Page<MailServer>>('GET', `/v1/mail-servers?address=${query}&limit=50`),
        api<Page<Exception>>('GET', `/v1/exceptions?address=${query}&limit=50`),
      ]);
      results.servers = servers.items;
      results.exceptions = exceptions.items;
      break;
    }
    case 'helo': {
      const [servers, organizations] = await Promise.all([
        api<Page<MailServer>>('GET', `/v1/mail-servers?helo=${encodeURIComponent(plan.helo)}&limit=50`),
        api<Page<Organization>>('GET', `/v1/organizations?q=${encodeURIComponent(plan.alsoOrganizations)}&limit=50`),
      ]);
      results.servers = servers.items;
      results.organizations = organizations.items;
      break;
    }
    case 'organization':
      results.organizations = (await api<Page<Organization>>('GET', `/v1/organizations?q=${encodeURIComponent(plan.text)}&limit=50`)).items;
      break;
  }
  const ids = [...new Set([...results.servers, ...results.exceptions].map((item) => item.organizationId))];
  const named = await Promise.all(ids.map((id) => orNull(api<Organization>('GET', `/v1/organizations/${id}`))));
  for (const organization of named) if (organization) results.names[organization.id] = organization.name;
  return results;
}

export function SearchPage({ q, caller }: { q: string; caller: Caller }) {
  const [text, setText] = useState(q);
  const searched = useRef(q);
  const [state, setState] = useState<{ results?: Results; problem?: Problem; loading: boolean }>({ loading: false });
  useEffect(() => {
    // The box follows a new search (a link, the history), but never overwrites
    // what was typed before this effect first ran (a fast typist, a script).
    if (searched.current !== q) {
      searched.current = q;
      setText(q);
    }
    if (!q.trim()) {
      setState({ loading: false });
      return;
    }
    let live = true;
    setState({ loading: true });
    search(q).then(
      (results) => live && setState({ results, loading: false }),
      (error: unknown) => live && setState({ problem: toProblem(error), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [q]);
  const results = state.results;
  const nothing = results && results.organizations.length + results.servers.length + results.exceptions.length === 0;
  return (
    <>
      <PageTitle>Find</PageTitle>
      <form
        role="search"
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          location.hash = href({ page: 'search', q: text.trim() });
        }}
      >
        <label for="q">Organization, customer reference, HELO name, address or exception id</label>
        <input id="q" type="search" name="q" value={text} maxLength={253} autoComplete="off" spellcheck={false} onInput={(event) => setText(event.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      {state.loading ? <p role="status">Searching…</p> : null}
      {state.problem ? <ProblemMessage problem={state.problem} context="Search failed" /> : null}
      {nothing ? <p role="status">Nothing found for “{q}”.</p> : null}
      {results && results.organizations.length > 0 ? (
        <section aria-labelledby="found-organizations">
          <h2 id="found-organizations">Organizations</h2>
          <ul class="results">
            {results.organizations.map((organization) => (
              <li key={organization.id}>
                <a href={href({ page: 'organization', id: organization.id })}>{organization.name}</a> {organization.customerRef ? <span class="muted">({organization.customerRef})</span> : null}{' '}
                <Badge status={organization.status} />
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {results && results.servers.length > 0 ? (
        <section aria-labelledby="found-servers">
          <h2 id="found-servers">Mail servers</h2>
          <ul class="results">
            {results.servers.map((server) => (
              <li key={server.id}>
                <a href={href({ page: 'mail-server', id: server.id })}>{server.heloHostname}</a> <span class="muted">{server.addresses.join(', ')}</span> —{' '}
                <a href={href({ page: 'organization', id: server.organizationId })}>{results.names[server.organizationId] ?? 'organization'}</a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {results && results.exceptions.length > 0 ? (
        <section aria-labelledby="found-exceptions">
          <h2 id="found-exceptions">Exceptions</h2>
          <ul class="results">
            {results.exceptions.map((exception) => (
              <li key={exception.id}>
                <a href={href({ page: 'exception', id: exception.id })}>
                  {exception.heloHostname} ({exception.scope})
                </a>{' '}
                <Badge status={exception.status} /> — {results.names[exception.organizationId] ?? ''}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {caller.role === 'csr' || caller.role === 'admin' ? <NewOrganization /> : null}
    </>
  );
}

function NewOrganization() {
  const [name, setName] = useState('');
  const [customerRef, setCustomerRef] = useState('');
  const form = useForm(['name', 'customerRef']);
  return (
    <section aria-labelledby="new-organization">
      <h2 id="new-organization">New organization</h2>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const created = await form.submit(() =>
            api<Organization>('POST', '/v1/organizations', { name: name.trim(), ...(customerRef.trim() ? { customerRef: customerRef.trim() } : {}) }),
          );
          if (created) location.hash = href({ page: 'organization', id: created.id });
        }}
      >
        <Field id="org-name" label="Organization name" error={form.errors.name}>
          <input {...described('org-name', form.errors.name)} name="name" value={name} required maxLength={200} onInput={(event) => setName(event.currentTarget.value)} />
        </Field>
        <Field id="org-ref" label="Customer reference (optional)" error={form.errors.customerRef}>
          <input {...described('org-ref', form.errors.customerRef)} name="customerRef" value={customerRef} maxLength={100} onInput={(event) => setCustomerRef(event.currentTarget.value)} />
        </Field>
        <FormProblems general={form.general} />
        <button type="submit" disabled={form.busy}>
          Create organization
        </button>
      </form>
    </section>
  );
}
