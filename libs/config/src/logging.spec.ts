import { describe, expect, it } from 'vitest';
import { prettyStream, resolveLogFormat } from './logging.js';

describe('LOG_FORMAT', () => {
  it('auto is readable lines on a terminal and JSON lines anywhere else', () => {
    expect(resolveLogFormat('auto', { isTTY: true })).toBe('pretty');
    expect(resolveLogFormat('auto', { isTTY: false })).toBe('json');
    expect(resolveLogFormat('auto', {})).toBe('json');
  });

  it('json and pretty hold whatever standard output is', () => {
    expect(resolveLogFormat('json', { isTTY: true })).toBe('json');
    expect(resolveLogFormat('pretty', { isTTY: false })).toBe('pretty');
  });

  it('prints a request as one readable line, without headers or ids', () => {
    let printed = '';
    const stream = prettyStream({ write: (text: string) => ((printed += text), true) } as NodeJS.WritableStream);
    stream.write(
      `${JSON.stringify({
        level: 30,
        time: Date.UTC(2026, 11, 3, 9, 15, 0),
        pid: 1,
        hostname: 'h',
        name: 'helopass',
        reqId: 'r-1',
        req: { id: 'r-1', method: 'POST', path: '/v1/organizations' },
        res: { statusCode: 201 },
        responseTime: 12,
        msg: 'request completed',
      })}\n`,
    );
    expect(printed).toMatch(/^\[\d\d:\d\d:\d\d\] INFO \(helopass\): request completed: POST \/v1\/organizations → 201 in 12 ms\n$/);
  });
});
