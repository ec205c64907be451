/**
 * The one-time admin key, as `npm start` prints it, last of all its start-up
 * lines. On a terminal it stands in a box of its own, set apart by blank
 * lines; anywhere else (LOG_FORMAT=json, a pipe, a container) it is the two
 * `[helopass]` lines the README shows, so that a script finds the key on the
 * line of its own that starts with `[helopass]` and then spaces.
 */
export function firstAdminKeyLines(secret: string, owner: string, format: 'json' | 'pretty'): string[] {
  if (format === 'json') {
    return [
      `[helopass] no API key existed; created an admin key (owner ${owner}). It is shown only this once, keep it:`,
      `[helopass]   ${secret}`,
      `[helopass] it is stored only as a hash and will not be shown again`,
    ];
  }
  const text = [
    `No API key existed, so HeloPass created an admin key`,
    `(owner: ${owner}). Keep it now:`,
    '',
    `  ${secret}`,
    '',
    'It is stored only as a hash: it will not be shown again.',
    'README, "The first hour", shows how to use it.',
  ];
  const width = Math.max(...text.map((line) => line.length)) + 2;
  return [
    '',
    `  ┌${'─'.repeat(width)}┐`,
    ...text.map((line) => `  │ ${line.padEnd(width - 2)} │`),
    `  └${'─'.repeat(width)}┘`,
    '',
  ];
}
