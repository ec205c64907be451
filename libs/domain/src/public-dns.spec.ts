import { describe, expect, it } from 'vitest';
import { neverPublicReason } from './public-dns.js';

describe('neverPublicReason', () => {
  it.each([
    ['exch01.corp.local', /\.local is reserved for multicast DNS/],
    ['printer.localhost', /\.localhost/],
    ['db.internal', /\.internal is reserved by ICANN/],
    ['nas.home.arpa', /home\.arpa.*RFC 8375/],
    ['home.arpa', /home\.arpa/],
    ['mail.example', /\.example/],
    ['host.test', /\.test/],
    ['x.onion', /\.onion/],
    ['exch01.corp', /not a top-level domain of the public DNS/],
    ['fileserver.lan', /not a top-level domain/],
    ['exch01.localdomain', /not a top-level domain/],
    ['exch01', /single label/],
  ])('%s can never resolve publicly', (name, reason) => {
    expect(neverPublicReason(name)).toMatch(reason);
  });

  it.each(['mail.example.com', 'example.com', 'mx.bücher.de'.replace('ü', 'ue'), 'xn--80ak6aa92e.xn--p1ai', 'mail.co.uk', 'com', 'x.github.io'])(
    '%s can',
    (name) => {
      expect(neverPublicReason(name)).toBeNull();
    },
  );

  it('never repeats a name that is not on its list', () => {
    expect(neverPublicReason('secret-project.corp')).not.toContain('secret-project');
    expect(neverPublicReason('secret-project.corp')).not.toContain('corp');
  });
});
