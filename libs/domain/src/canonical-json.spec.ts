import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts object keys', () => {
    expect(canonicalJson({ b: 1, a: 2, c: 3 })).toBe('{"a":2,"b":1,"c":3}');
  });

  it('gives the same bytes whatever order the keys were inserted in', () => {
    const one = { name: 'Acme', id: 'x', nested: { z: [1, 2], y: { q: true, p: null } } };
    const two = { nested: { y: { p: null, q: true }, z: [1, 2] }, id: 'x', name: 'Acme' };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it('sorts keys at every level, including inside arrays', () => {
    expect(canonicalJson({ list: [{ b: 1, a: 2 }, { d: { f: 1, e: 2 } }] })).toBe(
      '{"list":[{"a":2,"b":1},{"d":{"e":2,"f":1}}]}',
    );
  });

  it('keeps the order of array items', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalJson([3, 1, 2])).not.toBe(canonicalJson([1, 2, 3]));
  });

  it('renders Dates as ISO-8601 UTC instants', () => {
    const at = new Date('2024-05-06T07:08:09.123Z');
    expect(canonicalJson(at)).toBe('"2024-05-06T07:08:09.123Z"');
    expect(canonicalJson({ at })).toBe('{"at":"2024-05-06T07:08:09.123Z"}');
    expect(canonicalJson([at])).toBe('["2024-05-06T07:08:09.123Z"]');
  });

  it('renders a Date and its ISO string identically', () => {
    const at = new Date(Date.UTC(2030, 0, 1));
    expect(canonicalJson({ at })).toBe(canonicalJson({ at: at.toISOString() }));
  });

  it('drops undefined properties, as if absent', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('keeps null properties', () => {
    expect(canonicalJson({ a: null })).toBe('{"a":null}');
    expect(canonicalJson({ a: null })).not.toBe(canonicalJson({}));
  });

  it('renders primitives as JSON does', () => {
    expect(canonicalJson('text "quoted"')).toBe('"text \\"quoted\\""');
    expect(canonicalJson(42)).toBe('42');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(null)).toBe('null');
  });

  it('distinguishes different values', () => {
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
    expect(canonicalJson({ a: { b: 1 } })).not.toBe(canonicalJson({ a: { b: 2 } }));
  });

  it('is valid JSON that parses back to an equal value', () => {
    const value = { z: 'ü', a: [1, { y: false, x: 'é\n' }], m: null };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('does not change the value it is given', () => {
    const value = { b: 1, a: { d: 2, c: 3 } };
    canonicalJson(value);
    expect(Object.keys(value)).toEqual(['b', 'a']);
    expect(Object.keys(value.a)).toEqual(['d', 'c']);
  });
});

describe('sha256Hex', () => {
  it('answers the SHA-256 of the text as 64 lowercase hex characters', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('ü')).toBe(createHash('sha256').update('ü', 'utf8').digest('hex'));
    expect(sha256Hex('x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives equal hashes for equal canonical JSON built in different orders', () => {
    expect(sha256Hex(canonicalJson({ a: 1, b: 2 }))).toBe(sha256Hex(canonicalJson({ b: 2, a: 1 })));
  });
});
