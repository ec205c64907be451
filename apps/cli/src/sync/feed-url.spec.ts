import { describe, expect, it } from 'vitest';
import { isLoopbackHost, parseFeedUrl } from './feed-url.js';

const strict = { allowHttp: false };

describe('parseFeedUrl', () => {
  it('takes https to any host and names the rendering from the path', () => {
    expect(parseFeedUrl('https://helopass.example/v1/allowlist/postfix-cidr', strict)).toMatchObject({ rendering: 'postfix-cidr', cleartext: false });
    expect(parseFeedUrl('https://192.0.2.7:8443/v1/allowlist/rspamd-helo', strict)).toMatchObject({ rendering: 'rspamd-helo', cleartext: false });
  });

  it('takes plain http to loopback only, unless --allow-http', () => {
    for (const url of ['http://127.0.0.1:3000', 'http://127.8.9.10', 'http://[::1]:3000', 'http://localhost:3000', 'http://[::ffff:127.0.0.1]']) {
      expect(parseFeedUrl(`${url}/v1/allowlist/postfix-helo`, strict)).toMatchObject({ rendering: 'postfix-helo', cleartext: false });
    }
    for (const url of ['http://helopass.example', 'http://192.0.2.7', 'http://[2001:db8::1]', 'http://10.0.0.1', 'http://localhost.example.net']) {
      expect(() => parseFeedUrl(`${url}/v1/allowlist/postfix-cidr`, strict)).toThrow(/plain http:\/\/ to a host that is not loopback/);
      expect(parseFeedUrl(`${url}/v1/allowlist/postfix-cidr`, { allowHttp: true })).toMatchObject({ rendering: 'postfix-cidr', cleartext: true });
    }
  });

  it('refuses other schemes, credentials, queries, and paths that name no text rendering (the JSON one included)', () => {
    expect(() => parseFeedUrl('not a url', strict)).toThrow('--url is not a URL');
    expect(() => parseFeedUrl('ftp://helopass.example/v1/allowlist/postfix-cidr', strict)).toThrow('must be an https:// URL');
    expect(() => parseFeedUrl('file:///etc/passwd', strict)).toThrow('must be an https:// URL');
    expect(() => parseFeedUrl('https://rspamd:hp_secret@helopass.example/v1/allowlist/rspamd-ip', strict)).toThrow(/must not carry credentials/);
    expect(() => parseFeedUrl('https://rspamd:hp_secret@helopass.example/v1/allowlist/rspamd-ip', strict)).not.toThrow(/hp_secret/);
    expect(() => parseFeedUrl('https://helopass.example/v1/allowlist/postfix-cidr?asOf=2026-01-01T00:00:00Z', strict)).toThrow(/query/);
    expect(() => parseFeedUrl('https://helopass.example/v1/allowlist', strict)).toThrow(/the JSON rendering is not a map file/);
    expect(() => parseFeedUrl('https://helopass.example/v1/allowlist/json', strict)).toThrow(/must name a text rendering/);
    expect(() => parseFeedUrl('https://helopass.example/v1/allowlist/postfix-cidr.sig', strict)).toThrow(/must name a text rendering/);
  });
});

describe('isLoopbackHost', () => {
  it('knows loopback literals and localhost, nothing else', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('[::]')).toBe(false);
    expect(isLoopbackHost('127.0.0.1.nip.io')).toBe(false);
  });
});
