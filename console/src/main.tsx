import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, onSessionEnded, useCsrfToken } from './api.js';
import { ActivityBar, PageTitle, ProblemMessage, toProblem } from './components.js';
import type { Problem } from './lib/problems.js';
import { href, parseRoute, type Route } from './lib/route.js';
import { ApprovalsPage } from './pages/approvals.js';
import { DiagnosePage } from './pages/diagnose.js';
import { ExceptionPage } from './pages/exception.js';
import { MailServerPage } from './pages/mail-server.js';
import { OrganizationPage } from './pages/organization.js';
import { SearchPage } from './pages/search.js';
import { SignInPage } from './pages/sign-in.js';
import { TimelinePage } from './pages/timeline.js';
import type { Caller, Session } from './types.js';

function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

function Page({ route, caller }: { route: Route; caller: Caller }) {
  switch (route.page) {
    case 'search':
      return <SearchPage q={route.q} caller={caller} />;
    case 'organization':
      return <OrganizationPage key={route.id} id={route.id} caller={caller} />;
    case 'mail-server':
      return <MailServerPage key={route.id} id={route.id} caller={caller} />;
    case 'exception':
      return <ExceptionPage key={route.id} id={route.id} caller={caller} />;
    case 'diagnose':
      return <DiagnosePage key={`${route.helo} ${route.ip}`} helo={route.helo} ip={route.ip} />;
    case 'approvals':
      return <ApprovalsPage caller={caller} />;
    case 'timeline':
      return <TimelinePage key={`${route.entity}/${route.id}`} entity={route.entity} id={route.id} />;
    case 'not-found':
      return (
        <>
          <PageTitle>Page not found</PageTitle>
          <p>
            <a href="#/">Go to search</a>
          </p>
        </>
      );
  }
}

function Console() {
  const route = useHashRoute();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [ended, setEnded] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>();

  const signedIn = (next: Session | null) => {
    useCsrfToken(next?.csrfToken);
    setSession(next);
  };
  useEffect(() => {
    api<{ session: Session | null }>('GET', '/v1/console/session').then(
      (answer) => signedIn(answer.session),
      (error: unknown) => (error instanceof ApiError && error.problem.status === 401 ? signedIn(null) : setProblem(toProblem(error))),
    );
    return onSessionEnded(() => {
      setEnded(true);
      signedIn(null);
    });
  }, []);

  if (problem) {
    return (
      <main id="main">
        <ProblemMessage problem={problem} context="The console cannot reach the API" />
      </main>
    );
  }
  if (session === undefined) {
    return <p role="status">Loading…</p>;
  }
  if (session === null) {
    return (
      <SignInPage
        ended={ended}
        onSignedIn={(next) => {
          setEnded(false);
          signedIn(next);
        }}
      />
    );
  }
  const { caller } = session;
  const current = (page: Route['page']) => (route.page === page ? { 'aria-current': 'page' as const } : {});
  return (
    <>
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <nav aria-label="Console">
          <span class="brand">HeloPass</span>
          <a href={href({ page: 'search', q: '' })} {...current('search')}>
            Find
          </a>
          <a href={href({ page: 'diagnose', helo: '', ip: '' })} {...current('diagnose')}>
            Diagnose
          </a>
          <a href={href({ page: 'approvals' })} {...current('approvals')}>
            Approvals
          </a>
        </nav>
        <div class="who">
          <span>
            {caller.owner ?? caller.name} ({caller.role})
          </span>{' '}
          <button
            type="button"
            onClick={async () => {
              try {
                await api('DELETE', '/v1/console/session');
              } finally {
                signedIn(null);
                location.hash = '#/';
              }
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <ActivityBar />
      <main id="main" tabIndex={-1}>
        <Page route={route} caller={caller} />
      </main>
    </>
  );
}

/** /check: the public self-check, no sign-in. */
function Check() {
  const [search, setSearch] = useState(location.search);
  useEffect(() => {
    const update = () => setSearch(location.search);
    addEventListener('hashchange', update);
    addEventListener('popstate', update);
    return () => {
      removeEventListener('hashchange', update);
      removeEventListener('popstate', update);
    };
  }, []);
  const params = new URLSearchParams(search);
  const helo = params.get('helo') ?? '';
  const ip = params.get('ip') ?? '';
  return (
    <>
      <header>
        <span class="brand">HeloPass self-check</span>
      </header>
      <ActivityBar />
      <main id="main" tabIndex={-1}>
        <DiagnosePage key={`${helo} ${ip}`} helo={helo} ip={ip} publicCheck />
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(location.pathname.replace(/\/$/, '') === '/check' ? <Check /> : <Console />, root);
