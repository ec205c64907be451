import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The renderings the agent writes as map files (the JSON rendering is no map file; see the README). */
export const TEXT_RENDERINGS = ['postfix-cidr', 'postfix-helo', 'rspamd-ip', 'rspamd-helo'] as const;
export type TextRendering = (typeof TEXT_RENDERINGS)[number];

/** Why `--url` was refused; never contains the URL (it could carry a pasted key). */
export class FeedUrlError extends Error {
  override readonly name = 'FeedUrlError';
}

export interface FeedUrl {
  url: URL;
  rendering: TextRendering;
  /** plain http to a host that is not loopback (allowed only with --allow-http) */
  cleartext: boolean;
}

/**
 * Whether `hostname` (as `URL.hostname` gives it) is this machine: a loopback
 * address literal (127.0.0.0/8, ::1, IPv4-mapped loopback) or `localhost`,
 * which RFC 6761 §6.3 reserves for loopback. Plain http to such a host never
 * crosses a network.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return true;
  }
  if (isIP(host) === 0) {
    return false;
  }
  const address = ipaddr.process(host);
  return address.range() === 'loopback';
}

/**
 * Checks `--url` before anything is sent: https (plain http only to loopback
 * or with `allowHttp`), no credentials, no query, and a path that names one
 * of the text renderings, which fixes the grammar every body must follow.
 */
export function parseFeedUrl(text: string, options: { allowHttp: boolean }): FeedUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FeedUrlError('--url is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new FeedUrlError('--url must be an https:// URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw new FeedUrlError('--url must not carry credentials; give the key in HELOPASS_SYNC_KEY (or --key)');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new FeedUrlError('--url must not carry a query or fragment');
  }
  const last = url.pathname.split('/').pop() ?? '';
  if (!(TEXT_RENDERINGS as readonly string[]).includes(last)) {
    throw new FeedUrlError(
      `--url must name a text rendering (…/v1/allowlist/${TEXT_RENDERINGS.join('|')}); the JSON rendering is not a map file and is not synced`,
    );
  }
  const cleartext = url.protocol === 'http:' && !isLoopbackHost(url.hostname);
  if (cleartext && !options.allowHttp) {
    throw new FeedUrlError(
      '--url uses plain http:// to a host that is not loopback: the key and the list would cross the network in clear; use https:// (or --allow-http, knowingly)',
    );
  }
  return { url, rendering: last as TextRendering, cleartext };
}
