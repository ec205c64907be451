/**
 * What a CSR typed into the one search box, and which list routes answer it.
 * The console decides nothing about the data: it only picks the questions.
 */
export type SearchPlan =
  | { kind: 'empty' }
  | { kind: 'exception-id'; id: string }
  | { kind: 'address'; address: string }
  | { kind: 'helo'; helo: string; alsoOrganizations: string }
  | { kind: 'organization'; text: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/;
const IPV6 = /^[0-9a-f:]*:[0-9a-f:.]*(\/\d{1,3})?$/i;
/** A dotted or single-label name as a mail server may announce it (underscores too). */
const HOSTNAME = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

export function planSearch(input: string): SearchPlan {
  const text = input.trim();
  if (text === '') {
    return { kind: 'empty' };
  }
  if (UUID.test(text)) {
    return { kind: 'exception-id', id: text.toLowerCase() };
  }
  const unbracketed = text.replace(/^\[(?:ipv6:)?(.*)\]$/i, '$1');
  if (IPV4.test(unbracketed) || (unbracketed.includes(':') && IPV6.test(unbracketed))) {
    return { kind: 'address', address: unbracketed };
  }
  if (text.includes('.') && !text.includes(' ') && HOSTNAME.test(text)) {
    // A dotted name is most likely a HELO name; an organization may be named so too.
    return { kind: 'helo', helo: text.replace(/\.$/, '').toLowerCase(), alsoOrganizations: text };
  }
  return { kind: 'organization', text };
}
