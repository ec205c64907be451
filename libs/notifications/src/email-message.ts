/** What a technical contact reads: a subject and a plain-text body. */
export interface EmailMessage {
  subject: string;
  text: string;
}

interface EventForEmail {
  id: string;
  type: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

type Fields = Record<string, unknown>;

const DAY_MS = 86_400_000;

function object(value: unknown): Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** Header-safe: one line, bounded (values come from our own records, but a subject must never break a header). */
function oneLine(value: string): string {
  return value.replace(/[\r\n\t]+/g, ' ').slice(0, 200);
}

function days(n: number): string {
  return n === 1 ? '1 day' : `${n} days`;
}

/** What happened and what to do, for each event a customer is e-mailed about. */
function explain(event: EventForEmail, exception: Fields, domain: Fields): { subject: string; lines: string[] } {
  const helo = text(exception.heloHostname);
  const name = text(domain.name);
  const challenge = object(domain.challenge);
  const fixHelo = 'The lasting fix is to make the server announce a HELO name that exists in the DNS (an A, AAAA or MX record).';
  switch (event.type) {
    case 'exception.expiring': {
      const left = Math.max(1, Math.ceil((Date.parse(text(exception.expiresAt)) - event.occurredAt.getTime()) / DAY_MS));
      return {
        subject: `The HELO exception for ${helo} expires in ${days(left)}`,
        lines: [`When it expires, our mail servers refuse mail from this server again if its HELO name still does not resolve.`, fixHelo, 'If you need more time, ask us to renew the exception.'],
      };
    }
    case 'exception.expired':
      return { subject: `The HELO exception for ${helo} has expired`, lines: ['Our mail servers now apply the HELO check to this server again.', fixHelo] };
    case 'exception.suspended':
      return {
        subject: `The HELO exception for ${helo} is suspended`,
        lines: [`It no longer applies (cause: ${(exception.suspensionCauses as string[] | undefined)?.join(', ') || 'see your account'}). It comes back by itself once the cause is gone.`, fixHelo],
      };
    case 'exception.restored':
      return { subject: `The HELO exception for ${helo} applies again`, lines: ['What suspended it is gone.'] };
    case 'exception.revoked':
      return { subject: `The HELO exception for ${helo} was revoked`, lines: [`Reason: ${text(exception.revokeReason) || 'not given'}.`, fixHelo] };
    case 'exception.no_longer_needed': {
      const revokesAt = text(exception.revokesAt);
      return {
        subject: `The HELO exception for ${helo} is no longer needed`,
        lines: [
          `The server's HELO name now passes the HELO check by itself, so the exception will be withdrawn${revokesAt ? ` on ${revokesAt}` : ''}. Nothing to do.`,
          'If the name stops resolving again before then, the exception stays.',
        ],
      };
    }
    case 'exception.stale': {
      const unused = Number(event.data.unusedDays ?? 0);
      return {
        subject: `The HELO exception for ${helo} has not been used for ${days(unused)}`,
        lines: ['No mail from this server needed it in that time. If the server is gone or fixed, tell us and we will withdraw it; nothing is withdrawn without asking.'],
      };
    }
    case 'domain.failing':
      return {
        subject: `The verification record of ${name} is missing`,
        lines: [
          `Our last check did not find the TXT record ${text(challenge.recordName)} with the value ${text(challenge.recordValue)}.`,
          'Put it back: after repeated failures the domain is no longer verified and the exceptions that rely on it are suspended.',
        ],
      };
    case 'domain.lapsed':
      return {
        subject: `${name} is no longer verified`,
        lines: [`The TXT record ${text(challenge.recordName)} was missing at several checks in a row. Exceptions that relied on it are suspended until it is back.`],
      };
    case 'domain.recovered':
      return { subject: `${name} is verified again`, lines: ['The verification record is back; suspended exceptions that relied on it apply again.'] };
    default:
      return { subject: `HeloPass: ${event.type}`, lines: [`Event ${event.type}.`] };
  }
}

/** The e-mail for one event; plain text, facts first. */
export function renderEmail(event: EventForEmail): EmailMessage {
  const exception = object(event.data.exception);
  const domain = object(event.data.domain);
  const organization = object(event.data.organization);
  const { subject, lines } = explain(event, exception, domain);
  const facts: string[] = [];
  if (text(organization.name) !== '') {
    facts.push(`Organization: ${text(organization.name)}${text(organization.customerRef) ? ` (${text(organization.customerRef)})` : ''}`);
  }
  if (text(exception.heloHostname) !== '') {
    facts.push(`Mail server HELO name: ${text(exception.heloHostname)}`);
    facts.push(`Addresses: ${((exception.addresses as string[] | undefined) ?? []).join(', ')}`);
    facts.push(`Expires: ${text(exception.expiresAt)}`);
  }
  if (text(domain.name) !== '') {
    facts.push(`Domain: ${text(domain.name)} (${text(domain.status)})`);
  }
  const body = [
    'Hello,',
    '',
    ...lines,
    '',
    ...facts,
    '',
    `Event: ${event.type}, ${event.occurredAt.toISOString()} (id ${event.id})`,
    'You receive this as a technical contact of the organization above.',
  ];
  return { subject: oneLine(`[HeloPass] ${subject}`), text: body.join('\n') };
}
