import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startTestApp, unique, type TestApp } from './support/test-app.js';

const PROBLEM = 'application/problem+json';

describe('errors are problem+json, requests are traced, logs hold no keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ BODY_LIMIT_BYTES: '2048' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const response = await t.http.get('/v1/nothing-here').set(bearer(t.keys.csr)).expect(404);
    expect(response.headers['content-type']).toContain(PROBLEM);
    expect(response.body).toMatchObject({ status: 404, title: 'Not found', requestId: response.headers['x-request-id'] });
  });

  it('refuses a body over the limit with 413 and malformed JSON with 400, writing nothing', async () => {
    const count = await t.prisma.organization.count();
    const big = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .set('content-type', 'application/json')
      .send(JSON.stringify({ name: 'x', notes: 'y'.repeat(4096) }))
      .expect(413);
    expect(big.headers['content-type']).toContain(PROBLEM);
    expect(big.body.status).toBe(413);
    const malformed = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .set('content-type', 'application/json')
      .send('{"name": "unterminated')
      .expect(400);
    expect(malformed.headers['content-type']).toContain(PROBLEM);
    expect(malformed.body.type).toContain('malformed-json');
    expect(malformed.text).not.toContain('unterminated');
    const wrongType = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .set('content-type', 'application/xml')
      .send('<name/>');
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers['content-type']).toContain(PROBLEM);
    expect(await t.prisma.organization.count()).toBe(count);
  });

  it('honours a sane X-Request-Id, replaces an unsafe one, and puts it in the problem and the logs', async () => {
    const given = `trace-${unique('r')}`;
    const response = await t.http.get('/v1/organizations/not-a-uuid').set(bearer(t.keys.csr)).set('x-request-id', given).expect(404);
    expect(response.headers['x-request-id']).toBe(given);
    expect(response.body.requestId).toBe(given);
    const unsafe = await t.http.get('/health/live').set('x-request-id', 'bad id\twith spaces').expect(200);
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    await expect.poll(() => t.logs.lines.some((line) => line.includes(given))).toBe(true);
    const lines = t.logs.lines.filter((line) => line.includes(given)).map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.reqId ?? line.req?.id).toBe(given);
      expect(typeof line.level).toBe('number');
      expect(typeof line.time).toBe('number');
    }
  });

  it('never writes an API key to the log, whether it is accepted, refused or sent as Basic', async () => {
    await t.http.get('/v1/organizations').set(bearer(t.keys.csr)).expect(200);
    const unknown = `hp_${'Z'.repeat(43)}`;
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${unknown}` }).expect(401);
    const basic = Buffer.from(`rspamd:${t.keys.filter.key}`).toString('base64');
    await t.http.get('/v1/organizations').set({ authorization: `Basic ${basic}` }).expect(401);
    await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({ name: 'logged?', role: 'csr', owner: 'logged@example.test' }).expect(201);
    await expect.poll(() => t.logs.lines.length).toBeGreaterThan(4);
    const log = t.logs.text;
    for (const secret of [t.keys.csr.key, t.keys.admin.key, t.keys.filter.key, unknown, basic]) {
      expect(log).not.toContain(secret);
    }
    expect(log).not.toMatch(/hp_[A-Za-z0-9_-]{40,}/);
  });
});
