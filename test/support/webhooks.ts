import type { TestDnsServer } from './dns-server.js';
import { bearer, createOrganization, unique, type TestApp } from './test-app.js';

/** Subscribes (as admin); answers the subscription with its secret. */
export async function subscribe(
  t: TestApp,
  body: { url: string; events: string[]; organizationId?: string },
): Promise<{ id: string; secret: string; url: string }> {
  const response = await t.http.post('/v1/webhooks').set(bearer(t.keys.admin)).send(body);
  if (response.status !== 201) {
    throw new Error(`subscribing answered ${response.status}: ${response.text}`);
  }
  return response.body as { id: string; secret: string; url: string };
}

/** A new organization (the webhook's filter) and a way to make it emit `domain.verified` on demand. */
export async function organizationWithEvents(t: TestApp, dns: TestDnsServer): Promise<{ id: string; verifyDomain(): Promise<string> }> {
  const org = await createOrganization(t);
  return {
    id: org.id,
    verifyDomain: async () => {
      const created = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name: `${unique('hook')}.example.com` }).expect(201);
      dns.txt(created.body.challenge.recordName, [created.body.challenge.recordValue]);
      await t.http.post(`/v1/domains/${created.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
      return created.body.id as string;
    },
  };
}

/** The Standard Webhooks headers of a received request, as Webhook.verify takes them. */
export function signatureHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  return {
    'webhook-id': String(headers['webhook-id']),
    'webhook-timestamp': String(headers['webhook-timestamp']),
    'webhook-signature': String(headers['webhook-signature']),
  };
}
