import { describe, expect, it } from 'vitest';
import { csvCell, csvRecord } from './csv.js';

describe('csv', () => {
  it('quotes fields with commas, quotes and line breaks (RFC 4180), CRLF after each record', () => {
    expect(csvRecord(['plain', 'a,b', 'say "hi"', 'two\nlines', null, 42])).toBe('plain,"a,b","say ""hi""","two\nlines",,42\r\n');
  });

  it.each(['=HYPERLINK("http://evil.example")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd'])('defuses a formula: %j', (value) => {
    const cell = csvCell(value);
    expect(cell.replace(/^"/, '').startsWith("'")).toBe(true);
    expect(cell).toContain(value.replace(/"/g, '""'));
  });

  it('leaves ordinary text and our own numbers alone', () => {
    expect(csvCell('exch01.corp.local')).toBe('exch01.corp.local');
    expect(csvCell('192.0.2.10/32 192.0.2.11/32')).toBe('192.0.2.10/32 192.0.2.11/32');
    expect(csvCell(0)).toBe('0');
  });
});
