import { describe, expect, it } from 'vitest';
import { MalformedPolicyRequest, parsePolicyRequest, PolicyRequestReader, type PolicyRequest } from './protocol.js';

const POSTFIX_REQUEST = [
  'request=smtpd_access_policy',
  'protocol_state=HELO',
  'protocol_name=SMTP',
  'helo_name=exch01.corp.example',
  'queue_id=',
  'sender=',
  'recipient=',
  'client_address=192.0.2.10',
  'client_name=unknown',
  'reverse_client_name=unknown',
  'instance=123.456.7',
  'sasl_method=',
  'ccert_subject=',
  'server_address=198.51.100.1',
  'server_port=25',
].join('\n');

function readAll(reader: PolicyRequestReader, chunks: string[]): PolicyRequest[] {
  const requests: PolicyRequest[] = [];
  for (const chunk of chunks) {
    reader.push(Buffer.from(chunk, 'latin1'), (request) => requests.push(request));
  }
  return requests;
}

describe('parsePolicyRequest', () => {
  it('reads the HELO name and client address of a request as Postfix sends it, ignoring the other attributes', () => {
    expect(parsePolicyRequest(POSTFIX_REQUEST)).toEqual({ heloName: 'exch01.corp.example', clientAddress: '192.0.2.10' });
  });

  it('takes the attributes in any order and new ones it does not know', () => {
    const text = 'client_address=2001:db8::1\nfuture_attribute=x=y\nhelo_name=Mail.Example.\nrequest=smtpd_access_policy';
    expect(parsePolicyRequest(text)).toEqual({ heloName: 'Mail.Example.', clientAddress: '2001:db8::1' });
  });

  it('keeps empty values empty and missing ones empty', () => {
    expect(parsePolicyRequest('request=smtpd_access_policy\nhelo_name=')).toEqual({ heloName: '', clientAddress: '' });
  });

  it('refuses a line that is not name=value, a nameless attribute, and another request type', () => {
    expect(() => parsePolicyRequest('request=smtpd_access_policy\ngarbage')).toThrow(MalformedPolicyRequest);
    expect(() => parsePolicyRequest('request=smtpd_access_policy\n=value')).toThrow(/without a name/);
    expect(() => parsePolicyRequest('request=something_else\nhelo_name=a')).toThrow(/not an smtpd_access_policy request/);
    expect(() => parsePolicyRequest('helo_name=a\nclient_address=192.0.2.1')).toThrow(/not an smtpd_access_policy request/);
  });
});

describe('PolicyRequestReader', () => {
  it('splits pipelined requests and joins a request split across packets at any byte', () => {
    const stream = `${POSTFIX_REQUEST}\n\n${POSTFIX_REQUEST.replace('192.0.2.10', '192.0.2.11')}\n\n`;
    for (let cut = 1; cut < stream.length; cut += 7) {
      const requests = readAll(new PolicyRequestReader(8192), [stream.slice(0, cut), stream.slice(cut)]);
      expect(requests.map((request) => request.clientAddress)).toEqual(['192.0.2.10', '192.0.2.11']);
    }
    const byteByByte = readAll(new PolicyRequestReader(8192), [...stream]);
    expect(byteByByte).toHaveLength(2);
  });

  it('says whether part of a request is waiting', () => {
    const reader = new PolicyRequestReader(8192);
    readAll(reader, ['request=smtpd_access_policy\n']);
    expect(reader.partial).toBe(true);
    readAll(reader, ['\n']);
    expect(reader.partial).toBe(false);
  });

  it('refuses a request over the size limit, finished or not, and holds no more than the limit', () => {
    const long = `request=smtpd_access_policy\nhelo_name=${'a'.repeat(600)}\n\n`;
    expect(() => readAll(new PolicyRequestReader(512), [long])).toThrow(/longer than 512 bytes/);
    const reader = new PolicyRequestReader(512);
    expect(() => readAll(reader, ['x'.repeat(400), 'x'.repeat(200)])).toThrow(/longer than 512 bytes/);
  });

  it('answers the requests before a malformed one, then refuses', () => {
    const seen: PolicyRequest[] = [];
    const reader = new PolicyRequestReader(8192);
    expect(() => reader.push(Buffer.from(`${POSTFIX_REQUEST}\n\nnot a policy request\n\n`), (request) => seen.push(request))).toThrow(
      MalformedPolicyRequest,
    );
    expect(seen).toHaveLength(1);
  });

  it('refuses an empty request (an empty line where a request should begin)', () => {
    expect(() => readAll(new PolicyRequestReader(8192), ['\n'])).toThrow(/empty request/);
    expect(() => readAll(new PolicyRequestReader(8192), [`${POSTFIX_REQUEST}\n\n\n`])).toThrow(/empty request/);
  });
});

describe('PolicyRequestReader on unfinished input', () => {
  it('refuses an unfinished request at its first line that is not name=value (no wait for an empty line)', () => {
    expect(() => readAll(new PolicyRequestReader(8192), ['GET / HTTP/1.1\r\nHost: x\r\n'])).toThrow(/without "="/);
    expect(() => readAll(new PolicyRequestReader(8192), ['request=smtpd_access_policy\nhelo', '_name\n'])).toThrow(/without "="/);
    const reader = new PolicyRequestReader(8192);
    expect(readAll(reader, ['request=smtpd_access_policy\nhelo_na', 'me=a\nclient_address=192.0.2.1\n', '\n'])).toEqual([
      { heloName: 'a', clientAddress: '192.0.2.1' },
    ]);
  });
});

describe('PolicyRequestReader across requests', () => {
  it('checks the lines of the next unfinished request from its own beginning', () => {
    const reader = new PolicyRequestReader(8192);
    const first = 'request=smtpd_access_policy\nhelo_name=a.example\nclient_address=192.0.2.1\n';
    readAll(reader, [first]);
    expect(() => readAll(reader, [`\nno equals sign here\n`])).toThrow(/without "="/);
  });
});
