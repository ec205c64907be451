import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startTestApp, unique, type TestApp } from './support/test-app.js';

/**
 * Every log line written while a request is served carries its request id
 * (`reqId`, the X-Request-Id answered) — the lines of Nest's pipeline and
 * those of the feed's fast path, which answers before that pipeline.
 */
describe('structured logs keep the request id', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const linesOf = async (id: string) => {
    await expect.poll(() => t.logs.lines.some((line) => line.includes(id))).toBe(true);
    return t.logs.lines.filter((line) => line.includes(id)).map((line) => JSON.parse(line) as Record<string, any>);
  };

  it('a refused key on an ordinary route: the warning and the request line carry the id', async () => {
    const id = `trace-${unique('guard')}`;
    const response = await t.http.get('/v1/organizations').set('authorization', `Bearer hp_${'Q'.repeat(43)}`).set('x-request-id', id).expect(401);
    expect(response.headers['x-request-id']).toBe(id);
    const lines = await linesOf(id);
    const warning = lines.find((line) => line.msg === 'authentication failed');
    expect(warning?.reqId).toBe(id);
    for (const line of lines) {
      expect(line.reqId, JSON.stringify(line)).toBe(id);
    }
  });

  it('a refused key on the feed (answered before Nest\'s pipeline): the warning carries the id too', async () => {
    const id = `trace-${unique('feed')}`;
    const response = await t.http.get('/v1/allowlist/postfix-cidr').set('authorization', `Bearer hp_${'W'.repeat(43)}`).set('x-request-id', id).expect(401);
    expect(response.headers['x-request-id']).toBe(id);
    expect(response.body.requestId).toBe(id);
    const lines = await linesOf(id);
    expect(lines.some((line) => line.msg === 'authentication failed')).toBe(true);
    for (const line of lines) {
      expect(line.reqId, JSON.stringify(line)).toBe(id);
    }
  });

  it('an accepted request without an id of its own gets one, answered and logged alike', async () => {
    const response = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ name: unique('Logged Org') }).expect(201);
    const id = response.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const lines = await linesOf(id);
    expect(lines.some((line) => line.res?.statusCode === 201)).toBe(true);
    for (const line of lines) {
      expect(line.reqId, JSON.stringify(line)).toBe(id);
    }
  });
});
