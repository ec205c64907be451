/**
 * The agent refused what the feed sent: too large, not signed by the given
 * key, outside the rendering's grammar, or older than the list the host
 * already holds. The current file is kept; `--once` exits with status 3.
 */
export class FeedRefusal extends Error {
  override readonly name = 'FeedRefusal';
}
