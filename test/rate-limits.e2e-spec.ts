import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startTestApp, type TestApp } from './support/test-app.js';

const madeUpKey = () => ({ authorization: `Bearer hp_${randomBytes(32).toString('base64url')}` });

async function statuses(count: number, send: () => PromiseLike<{ status: number }>): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i += 1) {
    result.push((await send()).status);
  }
  return result;
}

function expectRateLimited(response: { status: number; headers: Record<string, string>; body: any }, detail: string): void {
  expect(response.status).toBe(429);
  expect(response.headers['content-type']).toContain('application/problem+json');
  const retryAfter = Number(response.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(response.body).toMatchObject({
    type: 'urn:helopass:problem:rate-limited',
    title: 'Too many requests',
    status: 429,
    detail: expect.stringContaining(detail),
    requestId: expect.any(String),
  });
}

// Each app counts on its own; the limits here are tiny so that a few requests reach them.
describe('rate limits per API key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_FEED_PER_MINUTE: '8', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 problem+json with Retry-After once a key has used its budget; other keys are not affected', async () => {
    expect(await statuses(5, () => t.http.get('/v1/organizations').set(bearer(t.keys.csr)))).toEqual([200, 200, 200, 200, 200]);
    const limited = await t.http.get('/v1/organizations').set(bearer(t.keys.csr));
    expectRateLimited(limited, 'too many requests for this API key');
    expect(limited.headers['x-ratelimit-limit']).toBe('5');
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    // Writes count too, and are refused before they are attempted.
    const write = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ name: 'never written' });
    expect(write.status).toBe(429);
    expect(await t.prisma.organization.count({ where: { name: 'never written' } })).toBe(0);

    await t.http.get('/v1/organizations').set(bearer(t.keys.csr2)).expect(200);
  });

  it('gives the feed a budget of its own, per key', async () => {
    // The admin's API budget used up does not stop its feed reads.
    expect(await statuses(5, () => t.http.get('/v1/organizations').set(bearer(t.keys.admin)))).toEqual(Array(5).fill(200));
    await t.http.get('/v1/organizations').set(bearer(t.keys.admin)).expect(429);
    expect(await statuses(8, () => t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.admin)))).toEqual(Array(8).fill(200));
    expectRateLimited(await t.http.get('/v1/allowlist/postfix-cidr.sig').set(bearer(t.keys.admin)), 'too many requests for this API key');
    // A filter polling the feed has its own budget.
    expect(await statuses(8, () => t.http.head('/v1/allowlist/rspamd-ip').set(bearer(t.keys.filter)))).toEqual(Array(8).fill(200));
    expectRateLimited(await t.http.get('/v1/allowlist/rspamd-ip').set(bearer(t.keys.filter)), 'too many requests for this API key');
  });
});

describe('failed authentications', () => {
  let t: TestApp;
  beforeAll(async () => {
    // No TRUSTED_PROXIES: X-Forwarded-For is not believed.
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('have a stricter budget per client address, after which even a valid key is not looked at; X-Forwarded-For does not escape it', async () => {
    const failures = await Promise.all(
      ['198.51.100.1', '198.51.100.2', '198.51.100.3'].map((forwarded) =>
        t.http.get('/v1/organizations').set(madeUpKey()).set('x-forwarded-for', forwarded),
      ),
    );
    expect(failures.map((response) => response.status)).toEqual([401, 401, 401]);
    expectRateLimited(
      await t.http.get('/v1/organizations').set(madeUpKey()).set('x-forwarded-for', '198.51.100.4'),
      'too many failed authentications from this address',
    );
    // Fewer failures than the normal budget (5) were enough, and now a valid key is refused too.
    expectRateLimited(await t.http.get('/v1/organizations').set(bearer(t.keys.auditor)), 'too many failed authentications');
    await t.http.get('/health/live').expect(200);
  });
});

describe('requests without a key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('are counted per client address (docs included, health not)', async () => {
    expect(await statuses(3, () => t.http.get('/v1/organizations'))).toEqual([401, 401, 401]);
    expect(await statuses(2, () => t.http.get('/docs/json'))).toEqual([200, 200]);
    expectRateLimited(await t.http.get('/v1/organizations'), 'too many requests from this address');
    expectRateLimited(await t.http.get('/docs/json'), 'too many requests from this address');
    expect(await statuses(20, () => t.http.get('/health/live'))).toEqual(Array(20).fill(200));
    // Keys are counted on their own budgets, not this one.
    await t.http.get('/v1/organizations').set(bearer(t.keys.csr)).expect(200);
  });
});
