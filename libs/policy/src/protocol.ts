/**
 * Postfix SMTPD policy delegation, the wire format (Postfix's
 * SMTPD_POLICY_README, "Protocol description"): a request is `name=value`
 * lines, each ended by a newline, and the request by an empty line; the
 * answer is `action=…` and an empty line. A connection carries any number of
 * requests, which a client may send before reading the answers (pipelining).
 * Attribute order is free and new attributes appear with Postfix releases,
 * so unknown names are ignored; a value may be empty.
 *
 * The bytes are read as latin1 (one character per byte), so that the size
 * limit counts bytes and a UTF-8 sequence split across packets is never
 * mangled; the attributes matched here (HELO name, client address) are
 * ASCII in any request that can match.
 */

/** What the policy server reads of a request; every other attribute is ignored. */
export interface PolicyRequest {
  heloName: string;
  clientAddress: string;
}

/** A request the server cannot read: logged, and the connection closed without an answer. */
export class MalformedPolicyRequest extends Error {
  override readonly name = 'MalformedPolicyRequest';
}

export const POLICY_OK = 'action=OK\n\n';
export const POLICY_DUNNO = 'action=DUNNO\n\n';

/** The only request type Postfix sends (`request=smtpd_access_policy`). */
const REQUEST_TYPE = 'smtpd_access_policy';

/** Parses one request's text (the lines before the empty line, newlines included). */
export function parsePolicyRequest(text: string): PolicyRequest {
  let request: string | undefined;
  let heloName = '';
  let clientAddress = '';
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) {
      end = text.length;
    }
    const equals = text.indexOf('=', start);
    if (equals === -1 || equals >= end) {
      throw new MalformedPolicyRequest('a line without "=" (not name=value)');
    }
    if (equals === start) {
      throw new MalformedPolicyRequest('an attribute without a name');
    }
    // Compared in place: no substring for the many attributes that are ignored.
    const nameLength = equals - start;
    if (nameLength === 7 && text.startsWith('request', start)) {
      request = text.slice(equals + 1, end);
    } else if (nameLength === 9 && text.startsWith('helo_name', start)) {
      heloName = text.slice(equals + 1, end);
    } else if (nameLength === 14 && text.startsWith('client_address', start)) {
      clientAddress = text.slice(equals + 1, end);
    }
    start = end + 1;
  }
  if (request !== REQUEST_TYPE) {
    throw new MalformedPolicyRequest(`not an ${REQUEST_TYPE} request`);
  }
  return { heloName, clientAddress };
}

/**
 * Splits a connection's byte stream into requests, holding at most one
 * unfinished request of at most `maxRequestBytes` (a client that sends more
 * without an empty line is malformed, whatever it sends next).
 */
export class PolicyRequestReader {
  private pending = '';
  /** How far the unfinished request's lines have been checked. */
  private checked = 0;

  constructor(private readonly maxRequestBytes: number) {}

  /** Whether part of a request has arrived and its end not yet. */
  get partial(): boolean {
    return this.pending.length > 0;
  }

  /**
   * The requests completed by `chunk`, in order, handed to `onRequest`.
   * Throws MalformedPolicyRequest at the first bad one (those before it
   * have been handed over already).
   */
  push(chunk: Buffer, onRequest: (request: PolicyRequest) => void): void {
    const text = this.pending.length === 0 ? chunk.toString('latin1') : this.pending + chunk.toString('latin1');
    let start = 0;
    for (;;) {
      if (start < text.length && text.charCodeAt(start) === 10) {
        throw new MalformedPolicyRequest('an empty request (an empty line before any attribute)');
      }
      const end = text.indexOf('\n\n', start);
      if (end === -1) {
        break;
      }
      if (end + 2 - start > this.maxRequestBytes) {
        throw new MalformedPolicyRequest(`a request longer than ${this.maxRequestBytes} bytes`);
      }
      onRequest(parsePolicyRequest(text.slice(start, end)));
      start = end + 2;
    }
    if (text.length - start > this.maxRequestBytes) {
      throw new MalformedPolicyRequest(`a request longer than ${this.maxRequestBytes} bytes`);
    }
    this.pending = start === text.length ? '' : text.slice(start);
    if (start > 0) {
      this.checked = 0; // a new request begins the pending text
    }
    this.checkFinishedLines();
  }

  /**
   * Refuses an unfinished request as soon as one of its finished lines is
   * not `name=value` (an HTTP request, a banner, binary noise), instead of
   * waiting for an empty line that may never come. Only unfinished requests
   * pay for this, and each line is looked at once.
   */
  private checkFinishedLines(): void {
    if (this.pending.length === 0) {
      this.checked = 0;
      return;
    }
    for (;;) {
      const end = this.pending.indexOf('\n', this.checked);
      if (end === -1) {
        return;
      }
      const equals = this.pending.indexOf('=', this.checked);
      if (equals === -1 || equals >= end) {
        throw new MalformedPolicyRequest('a line without "=" (not name=value)');
      }
      if (equals === this.checked) {
        throw new MalformedPolicyRequest('an attribute without a name');
      }
      this.checked = end + 1;
    }
  }
}
