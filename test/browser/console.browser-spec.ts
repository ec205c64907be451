import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestDnsServer, type TestDnsServer } from '../support/dns-server.js';
import { provenMailServer } from '../support/ownership.js';
import { bearer, randomIpv4, startTestApp, unique, type TestApp, type TestKey } from '../support/test-app.js';
import { expectAccessible, launchChromium, screenshot } from './browser.js';

/**
 * The "done when", in a real browser: a CSR takes a customer from
 * "450 Helo command rejected" to a granted, approved exception using only
 * the console, a second person approves, the CSR revokes, an auditor follows
 * what happened, and signing out ends the session.
 */
describe('the console in Chromium', () => {
  let dns: TestDnsServer;
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const contexts: BrowserContext[] = [];

  const domain = `${unique('widgets')}.example.com`;
  const helo = `exch01.${domain}`;
  const address = `198.51.100.${10 + Math.floor(Math.random() * 200)}`;
  const organizationName = `Example Widgets ${unique('ltd')}`;
  let exceptionUrl = '';

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await t?.close();
    await dns?.stop();
  });

  /** A browser of its own for one person (its own cookies), signed in with the keyboard alone. */
  async function signedIn(key: TestKey): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/console`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in to HeloPass');
    // The heading takes focus when the page opens: Tab reaches the key field.
    await expect.poll(() => page.evaluate('document.activeElement?.tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('key');
    await page.keyboard.type(key.key);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    return { context, page };
  }

  it('signs in: the key is exchanged for an HttpOnly cookie and kept nowhere in the page', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/console`);
    await page.getByLabel('API key').waitFor();
    await expectAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');

    const { context: csr, page: console_ } = await signedIn(t.keys.csr);
    await expect.poll(() => console_.locator('.who').textContent()).toContain('(csr)');
    // What scripts in the page can read: both storages and the cookies.
    const stored = (await console_.evaluate('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })')) as string;
    expect(stored).not.toContain(t.keys.csr.key);
    expect(stored).not.toContain('helopass_session'); // HttpOnly: not readable by scripts
    const [cookie] = await csr.cookies();
    expect(cookie).toMatchObject({ name: 'helopass_session', httpOnly: true, sameSite: 'Strict' });
    await csr.close();
  });

  it('takes a customer from a refused HELO to a granted, approved, then revoked exception, and an auditor follows it', async () => {
    const { context, page } = await signedIn(t.keys.csr);

    // Search page, and a new organization from it.
    await expectAccessible(page, 'search');
    await page.getByLabel('Organization name').fill(organizationName);
    await page.getByLabel('Customer reference (optional)').fill(unique('CUST'));
    await page.getByLabel('Customer reference (optional)').press('Enter');
    await expect.poll(() => page.locator('h1').textContent()).toBe(organizationName);
    const organizationUrl = page.url();

    // A field the API refuses is named next to the field.
    await page.getByLabel('HELO name, as the server announces it').fill('bad name');
    await page.getByLabel('Addresses (addresses or prefixes, separated by commas)').fill(address);
    await page.getByRole('button', { name: 'Add mail server' }).click();
    await page.locator('#server-helo-error').waitFor();
    expect(await page.getByLabel('HELO name, as the server announces it').getAttribute('aria-invalid')).toBe('true');

    // The mail server, as it really announces itself.
    await page.getByLabel('HELO name, as the server announces it').fill(helo);
    await page.getByRole('button', { name: 'Add mail server' }).click();
    await page.getByRole('link', { name: helo }).waitFor();

    // The domain: the exact record to read to the customer, with copy buttons.
    await page.getByLabel('Domain name').fill(domain);
    await page.getByRole('button', { name: 'Add domain' }).click();
    const record = page.locator('dl.record');
    await record.waitFor();
    const [recordName, , recordValue] = await record.locator('dd code').allTextContents();
    expect(recordName).toBe(`_mailmax-challenge.${domain}`);
    expect(recordValue).toMatch(/^mailmax-verification=/);
    await page.getByRole('button', { name: 'Copy record value' }).waitFor();
    await expectAccessible(page, 'organization');
    await screenshot(page, 'organization');

    // The customer publishes it (and an SPF record naming the server's address): check it now.
    dns.txt(recordName!, [recordValue!]);
    dns.txt(domain, [`v=spf1 ip4:${address} -all`]);
    await page.getByRole('button', { name: 'Check the record now' }).click();
    await page.locator('.card .badge', { hasText: 'verified' }).waitFor();
    await page.getByText('Verification attempts').click();
    await page.locator('.attempts li').first().waitFor();

    // Search finds the server by its HELO name, typed with the keyboard.
    await page.getByRole('link', { name: 'Find' }).click();
    await page.getByRole('searchbox').fill(helo.toUpperCase());
    await page.getByRole('searchbox').press('Enter');
    await page.getByRole('link', { name: helo }).waitFor();
    await expect.poll(() => page.locator('.results').textContent()).toContain(organizationName);

    // Diagnose: Postfix's verdict with the exact reply, the owner, the advice.
    await page.getByRole('link', { name: 'Diagnose' }).click();
    await page.getByLabel('HELO name, as the server announces it').fill(helo);
    await page.getByLabel('Client address').fill(address);
    await page.getByLabel('Client address').press('Enter');
    await page.locator('code.reply').waitFor();
    expect(await page.locator('code.reply').textContent()).toBe(`450 4.7.1 <${helo}>: Helo command rejected: Host not found`);
    await expect.poll(() => page.locator('.diagnosis').textContent()).toContain(organizationName);
    expect(await page.locator('.diagnosis').textContent()).toContain('No exception covers this pair.');
    await expectAccessible(page, 'diagnose');
    await screenshot(page, 'diagnose');

    // Grant from the mail server: what it will need is shown before submitting.
    await page.getByRole('link', { name: organizationName }).click();
    await page.getByRole('link', { name: helo }).click();
    await page.locator('.needs').waitFor();
    // The evidence was recorded before the domain was verified: look again.
    await page.getByRole('button', { name: 'Check ownership again' }).click();
    await expect.poll(() => page.locator('.needs').textContent()).toContain('spf_only');
    expect(await page.locator('.needs').textContent()).toContain('claimed');
    // The API's dry run says in advance what each choice would need: the console holds no rule of its own.
    await page.getByLabel('Scope').selectOption('helo');
    await expect.poll(() => page.locator('.needs').textContent()).toContain('helo_scope');
    expect(await page.locator('.needs').textContent()).toContain('an admin to approve it');
    await page.getByLabel('Scope').selectOption('pair');
    const expiry = page.getByLabel('Expires on (optional; the default is 90 days)');
    await expiry.fill(new Date(Date.now() + 200 * 86_400_000).toISOString().slice(0, 10));
    await expect.poll(() => page.locator('.needs').textContent()).toContain('long_duration');
    await expiry.fill('');
    await expect.poll(() => page.locator('.needs').textContent()).not.toContain('long_duration');
    expect(await page.locator('.needs').textContent()).toContain('spf_only');
    // Nothing was written while asking.
    expect(await t.prisma.exception.count({ where: { heloHostname: helo } })).toBe(0);
    await page.getByLabel('Reason').fill('the customer fixes its Exchange HELO name next month');
    await page.getByLabel('Ticket reference (optional)').fill('TCK-4711');
    await expectAccessible(page, 'mail server and grant');
    await page.getByRole('button', { name: 'Grant' }).click();
    await page.locator('.outcome').waitFor();
    expect(await page.locator('.outcome').textContent()).toContain('pending approval');
    expect(await page.locator('.outcome').textContent()).toContain('spf_only');
    // The server's list shows the new request at once.
    await page.locator('#exceptions-heading ~ table .badge', { hasText: 'pending approval' }).waitFor();
    await screenshot(page, 'grant');
    await page.locator('.outcome a').click();
    await page.locator('dl.facts').waitFor();
    exceptionUrl = page.url();

    // The requester's own request is not in their queue.
    await page.getByRole('link', { name: 'Approvals' }).click();
    await page.getByText('Nothing waits for you.').or(page.locator('.queue li')).first().waitFor();
    expect(await page.locator('.queue').textContent()).not.toContain(helo);

    // A second person approves it, from their own session, as a batch of one.
    const second = await signedIn(t.keys.csr2);
    await second.page.getByRole('link', { name: 'Approvals' }).click();
    const item = second.page.locator('.queue li', { hasText: helo });
    await item.waitFor();
    expect(await item.textContent()).toContain('the customer fixes its Exchange HELO name next month');
    expect(await item.textContent()).toContain('claimed (SPF)');
    await expectAccessible(second.page, 'approvals');
    await screenshot(second.page, 'approvals');
    await item.getByRole('checkbox').check();
    await second.page.getByLabel('Reason (required to reject; kept with each approval when given)').fill('customer confirmed the server on the call');
    await second.page.getByRole('button', { name: 'Approve selected' }).click();
    await second.page.locator('.outcome', { hasText: '1 decided, 0 refused' }).waitFor();

    // Back with the CSR: the exception is active and diagnose shows it covering the pair.
    await page.goto(exceptionUrl);
    await page.locator('dl.facts .badge', { hasText: 'active' }).waitFor();
    expect(await page.locator('dl.facts').textContent()).toContain(t.keys.csr2.owner!);
    // The batch's reason is kept with the approval, as a single approval's is.
    expect(await page.locator('dl.facts').textContent()).toContain('customer confirmed the server on the call');

    // Revoke, with a reason shown next to the field when it is missing.
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('#decision-reason-error').waitFor();
    await page.getByLabel('Reason (required to reject or revoke; optional to approve)').fill('the customer fixed its HELO name');
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('dl.facts .badge', { hasText: 'revoked' }).waitFor();

    // The timeline, with readable before and after.
    const history = page.locator('ol.timeline');
    await history.getByText('Exception revoked').waitFor();
    const text = await history.textContent();
    expect(text).toContain('Exception approved');
    expect(text).toContain('pending_approval');
    await expectAccessible(page, 'exception and its history');
    await screenshot(page, 'exception');

    // An auditor reads the organization's timeline, read-only.
    const auditor = await signedIn(t.keys.auditor);
    await auditor.page.goto(`${organizationUrl.replace(/#.*/, '')}#/organizations/${organizationUrl.split('/').pop()}/history`);
    await auditor.page.locator('ol.timeline').getByText('Organization created').waitFor();
    await expectAccessible(auditor.page, 'timeline');
    await screenshot(auditor.page, 'timeline');
    await auditor.page.goto(organizationUrl);
    await auditor.page.locator('h1', { hasText: organizationName }).waitFor();
    expect(await auditor.page.getByRole('button', { name: 'Add mail server' }).count()).toBe(0);

    // Sign out: the session is gone, also for a request that still sends its cookie.
    const [cookie] = await context.cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    const replay = await fetch(`${base}/v1/organizations`, { headers: { cookie: `helopass_session=${cookie!.value}` } });
    expect(replay.status).toBe(401);
    // Signing in and out are in the audit trail, with the key's owner.
    const sessions = await t.prisma.auditEvent.findMany({ where: { actorId: t.keys.csr.id, action: { startsWith: 'console_session.' } } });
    expect(sessions.filter((event) => event.action === 'console_session.ended').length).toBeGreaterThan(0);
    expect(sessions.every((event) => event.actorOwner === t.keys.csr.owner)).toBe(true);
  });

  it('lists a renewal waiting for approval in another person\'s queue, never the requester\'s, and approves it', async () => {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'until the fix' }).expect(201);
    expect(granted.body.status).toBe('active');
    const wanted = new Date(Date.now() + 200 * 86_400_000).toISOString();
    await t.http.post(`/v1/exceptions/${granted.body.id}/renew`).set(bearer(t.keys.csr)).send({ expiresAt: wanted }).expect(200);

    const requester = await signedIn(t.keys.csr);
    await requester.page.getByRole('link', { name: 'Approvals' }).click();
    await requester.page.getByText('Nothing waits for you.').or(requester.page.locator('.queue li')).first().waitFor();
    expect(await requester.page.locator('.queue').textContent()).not.toContain(server.heloHostname);

    const approver = await signedIn(t.keys.csr2);
    await approver.page.getByRole('link', { name: 'Approvals' }).click();
    const item = approver.page.locator('.queue li', { hasText: server.heloHostname });
    await item.waitFor();
    const text = await item.textContent();
    expect(text).toContain('Renewal');
    expect(text).toContain('long_duration');
    expect(text).toContain(t.keys.csr.owner!);
    await expectAccessible(approver.page, 'approvals with a renewal');
    await item.getByRole('button', { name: 'Approve this one' }).click();
    await approver.page.locator('.outcome', { hasText: '1 decided, 0 refused' }).waitFor();
    const renewed = await t.http.get(`/v1/exceptions/${granted.body.id}`).set(bearer(t.keys.auditor)).expect(200);
    expect(renewed.body).toMatchObject({ renewal: null, expiresAt: wanted });
  });

  it('shows a slow request while it runs and a failed one after, never a blank page', async () => {
    const { page } = await signedIn(t.keys.csr);
    // The network is the one thing held back here: Playwright delays, then cuts, the search's request.
    await page.route('**/v1/organizations?q=*', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await route.continue();
    });
    await page.getByRole('searchbox').fill('Slow Widgets');
    await page.getByRole('searchbox').press('Enter');
    await page.locator('.activity .slow', { hasText: 'Still waiting for the server' }).waitFor();
    await page.getByText('Nothing found for “Slow Widgets”.').waitFor();
    expect(await page.locator('.activity .slow').count()).toBe(0);

    await page.unroute('**/v1/organizations?q=*');
    await page.route('**/v1/organizations?q=*', (route) => route.abort('connectionrefused'));
    await page.getByRole('searchbox').fill('Lost Widgets');
    await page.getByRole('searchbox').press('Enter');
    await page.locator('.activity .failed', { hasText: 'failed: check the connection' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'Search failed' }).waitFor();
    expect(await page.locator('h1').textContent()).toBe('Find');
  });

  it('offers the public self-check without a key, and nothing about customers', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/check`);
    await page.getByLabel('HELO name, as the server announces it').fill(helo);
    await page.getByLabel('Client address').fill(address);
    await page.getByRole('button', { name: 'Check' }).click();
    await page.locator('code.reply').waitFor();
    expect(await page.locator('code.reply').textContent()).toBe(`450 4.7.1 <${helo}>: Helo command rejected: Host not found`);
    const shown = await page.locator('main').textContent();
    expect(shown).not.toContain(organizationName);
    expect(shown).not.toContain('exception (');
    await expectAccessible(page, 'check');
    await screenshot(page, 'check');
  });
});
