import { describe, expect, it } from 'vitest';
import { href, parseRoute, type Route } from './route.js';

const ID = '6f1c2a7e-1b7d-4c3a-9e0b-2d4f5a6b7c8d';

describe('routes', () => {
  it('round-trips every page through its URL fragment', () => {
    const routes: Route[] = [
      { page: 'search', q: 'acme gmbh' },
      { page: 'organization', id: ID },
      { page: 'mail-server', id: ID },
      { page: 'exception', id: ID },
      { page: 'diagnose', helo: 'exch01.corp.local', ip: '192.0.2.10' },
      { page: 'approvals' },
      { page: 'timeline', entity: 'domains', id: ID },
    ];
    for (const route of routes) {
      expect(parseRoute(href(route))).toEqual(route);
    }
  });

  it('opens search on an empty fragment and refuses what it does not know', () => {
    expect(parseRoute('')).toEqual({ page: 'search', q: '' });
    expect(parseRoute('#/organizations/not-an-id')).toEqual({ page: 'not-found' });
    expect(parseRoute('#/api-keys/' + ID + '/history')).toEqual({ page: 'not-found' });
  });
});
