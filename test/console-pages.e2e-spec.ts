import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';

/** The console's page and files, and /check: served without a key, with the security headers. */
describe('console pages', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const expectSecurityHeaders = (headers: Record<string, string>) => {
    const csp = headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['referrer-policy']).toBe('no-referrer');
  };

  it('serves the console page with its security headers, and no inline script', async () => {
    const page = await t.http.get('/console').expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['cache-control']).toBe('no-cache');
    expectSecurityHeaders(page.headers);
    expect(page.text).toMatch(/<script type="module" src="\/console\/assets\/app-[0-9a-f]{12}\.js"><\/script>/);
    // Every script comes from a file: no inline code for the policy to allow.
    expect(page.text.match(/<script[^>]*>([^<]*)<\/script>/g)?.every((tag) => /src="/.test(tag) && tag.endsWith('></script>'))).toBe(true);
  });

  it('serves its files compressed to a browser that accepts it, cached for good', async () => {
    const page = await t.http.get('/console').expect(200);
    const script = /src="(\/console\/assets\/[^"]+)"/.exec(page.text)![1]!;
    const gzipped = await t.http.get(script).set('accept-encoding', 'gzip').expect(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers['content-type']).toContain('text/javascript');
    expect(gzipped.headers['cache-control']).toContain('immutable');
    expectSecurityHeaders(gzipped.headers);
    const plain = await t.http.get(script).set('accept-encoding', 'identity').expect(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
  });

  it('answers 404 for a file it does not have, never a file outside its folder', async () => {
    await t.http.get('/console/assets/nope.js').expect(404);
    await t.http.get('/console/assets/..%2f..%2fpackage.json').expect(404);
    await t.http.get('/console/assets/index.html.gz').expect(404);
  });

  it('serves the public self-check page at /check', async () => {
    const page = await t.http.get('/check').expect(200);
    expectSecurityHeaders(page.headers);
    expect(page.text).toContain('/console/assets/');
  });
});
