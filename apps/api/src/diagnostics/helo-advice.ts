import type { PostfixHeloArgument } from '@app/domain';

/** What the advice rests on: one diagnosis, already made. */
export interface AdviceFacts {
  argument: PostfixHeloArgument;
  /** The name as HeloPass registers it, when it can be registered. */
  normalized: string | null;
  /** Why the name can never resolve in the public DNS, or null. */
  neverPublic: string | null;
  postfix: { rejected: boolean | null; restriction: string | null };
  /** Set when our resolver failed its canary check, so DNS could not tell. */
  brokenResolver: string | null;
  /** The name (without its trailing dot) has A, AAAA or MX records. */
  resolves: boolean;
  ptrNames: string[];
  clientAddress: string | null;
  owners: { organizationName: string; organizationStatus: string }[];
}

/**
 * Plain advice a CSR reads to the customer: what is wrong and what fixes it,
 * never a fix nobody can make (no "publish an A record" for a name that can
 * never be in the public DNS).
 */
export function heloAdvice(facts: AdviceFacts): string[] {
  const { argument, normalized, postfix } = facts;
  const announced = argument.shown;
  const advice: string[] = [];
  if (argument.form === 'none') {
    advice.push("The server sends EHLO without a name. Its administrator must set the mail server's host name.");
  } else if (!argument.valid) {
    advice.push(
      argument.form === 'address_literal'
        ? `The server announces "${announced}", which is not a valid address literal: an address is written [192.0.2.1] or [IPv6:2001:db8::1]. Better, the server should announce its public host name.`
        : `The server announces "${announced}", which is not a valid host name (it ${argument.problem}). Its administrator should set the mail server's host name to its real, public name.`,
    );
  } else if (postfix.rejected === false) {
    advice.push(
      argument.form === 'address_literal'
        ? `Our servers accept the address literal "${announced}" on both HELO checks. If mail is still refused, the HELO name is not the reason: read the rejection text in the server's logs.`
        : `"${normalized ?? announced}" resolves in DNS, so our servers accept this HELO name. If mail is still refused, the server probably announces a different name: check its SMTP logs.`,
    );
  } else if (postfix.rejected === null) {
    advice.push(
      facts.brokenResolver !== null
        ? `We cannot tell whether "${announced}" resolves: ${facts.brokenResolver}. This is trouble on our side, not the customer's; try again later, and tell the operators (GET /health/ready shows the resolvers' state).`
        : "DNS did not answer in time, so we cannot tell yet. Try again in a few minutes; if it persists, the customer's DNS servers may be unreachable.",
    );
  } else if (facts.neverPublic !== null) {
    advice.push(
      `Our servers refuse "${announced}" because it has no DNS record, and it never can: ${facts.neverPublic}, so no one can publish a record for it in the public DNS. ` +
        "The mail server must announce its public name instead (a name with an A record, ideally its address's reverse DNS name), or the customer needs an exception for this server.",
    );
  } else if (argument.form === 'address') {
    advice.push(
      `The server announces its bare IP address "${announced}", which is never found in DNS. It should announce its public host name (or at least the address in brackets, [${argument.name}], which our servers accept).`,
    );
  } else if (argument.name.endsWith('.')) {
    advice.push(
      `The server announces "${announced}" with a trailing dot, and Postfix never looks up a name written so: it is refused${facts.resolves ? ` although "${normalized}" has DNS records` : ''}. The server should announce the name without the dot.`,
    );
  } else if (argument.lookup === null) {
    advice.push(`The server announces a name longer than a DNS name may be. Its administrator should set the mail server's host name to its real, public name.`);
  } else {
    advice.push(
      `Our servers refuse "${normalized ?? announced}" because it has no DNS address (A/AAAA) or MX record. The fix is to make the mail server announce its real public name, or to publish an A record for "${normalized ?? announced}".`,
    );
  }
  if (postfix.rejected === null && facts.neverPublic !== null) {
    advice.push(
      `Whatever our DNS says, "${announced}" can never resolve in the public DNS (${facts.neverPublic}): the mail server must announce its public name, or the customer needs an exception for this server.`,
    );
  }
  if (postfix.rejected && facts.ptrNames.length > 0) {
    advice.push(`The sending address's reverse DNS name is ${facts.ptrNames.join(', ')}; announcing that name in HELO (if it resolves) would fix the rejection.`);
  }
  if (postfix.rejected) {
    if (facts.owners.length > 0) {
      const suspended = facts.owners.some((owner) => owner.organizationStatus === 'suspended');
      advice.push(
        `This server is registered to ${facts.owners.map((owner) => owner.organizationName).join(', ')}${suspended ? ' (suspended)' : ''}. If the name cannot be fixed soon, a special exception can be requested once ownership is proven (see the mail server's ownership).`,
      );
    } else if (facts.clientAddress !== null) {
      advice.push('No registered mail server has this name and address. If the customer cannot fix the name, register the server under their organization and prove ownership before requesting an exception.');
    }
  }
  return advice;
}
