/** The console's pages, addressed by the URL's fragment (`#/organizations/<id>`), so a reload or a shared link opens the same page. */
export type Route =
  | { page: 'search'; q: string }
  | { page: 'organization'; id: string }
  | { page: 'mail-server'; id: string }
  | { page: 'exception'; id: string }
  | { page: 'diagnose'; helo: string; ip: string }
  | { page: 'approvals' }
  | { page: 'timeline'; entity: TimelineEntity; id: string }
  | { page: 'not-found' };

export type TimelineEntity = 'organizations' | 'mail-servers' | 'domains' | 'exceptions';
const ENTITIES: readonly TimelineEntity[] = ['organizations', 'mail-servers', 'domains', 'exceptions'];
const ID = /^[0-9a-f-]{36}$/i;

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter((part) => part !== '');
  const [first, second, third] = parts;
  if (parts.length === 0 || first === 'search') {
    return { page: 'search', q: params.get('q') ?? '' };
  }
  if (first === 'diagnose' && parts.length === 1) {
    return { page: 'diagnose', helo: params.get('helo') ?? '', ip: params.get('ip') ?? '' };
  }
  if (first === 'approvals' && parts.length === 1) {
    return { page: 'approvals' };
  }
  if (second !== undefined && ID.test(second)) {
    if (third === 'history' && parts.length === 3 && (ENTITIES as readonly string[]).includes(first!)) {
      return { page: 'timeline', entity: first as TimelineEntity, id: second };
    }
    if (parts.length === 2) {
      if (first === 'organizations') return { page: 'organization', id: second };
      if (first === 'mail-servers') return { page: 'mail-server', id: second };
      if (first === 'exceptions') return { page: 'exception', id: second };
    }
  }
  return { page: 'not-found' };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'search':
      return route.q ? `#/search?${new URLSearchParams({ q: route.q })}` : '#/';
    case 'organization':
      return `#/organizations/${route.id}`;
    case 'mail-server':
      return `#/mail-servers/${route.id}`;
    case 'exception':
      return `#/exceptions/${route.id}`;
    case 'diagnose': {
      const params = new URLSearchParams();
      if (route.helo) params.set('helo', route.helo);
      if (route.ip) params.set('ip', route.ip);
      const query = params.toString();
      return `#/diagnose${query ? `?${query}` : ''}`;
    }
    case 'approvals':
      return '#/approvals';
    case 'timeline':
      return `#/${route.entity}/${route.id}/history`;
    case 'not-found':
      return '#/';
  }
}
