/**
 * Bounds on the DNS data HeloPass reads (DESIGN.md, Ownership §7). Customer
 * DNS is untrusted input: every length is checked before the text is parsed,
 * and a name is checked before it is ever queried.
 */

/**
 * Lengths are counted in characters: the names and SPF records compared
 * against them are printable ASCII (anything else is refused), one octet each.
 */

/** RFC 1035 §2.3.4: a label is at most 63 octets. */
export const MAX_LABEL_LENGTH = 63;

/**
 * RFC 1035 §2.3.4 allows 255 octets on the wire, which is 253 characters in
 * text form without the trailing dot (RFC 7208 §4.8 uses the same figure).
 */
export const MAX_NAME_LENGTH = 253;

/**
 * The longest SPF record evaluated, in characters. RFC 7208 §3.4 recommends records fit in
 * 450 octets (a 512-octet UDP answer); real policies that ignore the advice
 * run to about a thousand. 2048 leaves room for those, while bounding what
 * one record can make the parser do: anything longer is a permerror before
 * its terms are split.
 */
export const MAX_SPF_RECORD_LENGTH = 2048;

/**
 * The most terms (mechanisms and modifiers) one SPF record may hold. A record
 * of the recommended 450 octets holds about 35 `ip4:` terms; 128 fits the
 * longest records allowed above, and keeps a record of one-letter terms from
 * costing a thousand steps of evaluation.
 */
export const MAX_SPF_TERMS = 128;

/**
 * The most TXT data read at a challenge name, in characters, all records together. The
 * challenge record is about 60 octets; a set of several kilobytes at a name
 * made for it is not a challenge, and is neither compared nor stored.
 */
export const MAX_CHALLENGE_TXT_LENGTH = 4096;

/**
 * Why `name` (text form, optional trailing dot) cannot be queried, or null.
 * One pass over the characters, no pattern: safe on text of any length.
 */
export function nameLengthProblem(name: string): string | null {
  const length = name.endsWith('.') ? name.length - 1 : name.length;
  if (length === 0) {
    return 'the name is empty';
  }
  let labelStart = 0;
  for (let i = 0; i <= length; i++) {
    if (i === length || name.charCodeAt(i) === 0x2e /* . */) {
      const labelLength = i - labelStart;
      if (labelLength === 0) {
        return 'the name has an empty label';
      }
      if (labelLength > MAX_LABEL_LENGTH) {
        return `the name has a label of ${labelLength} characters, more than the ${MAX_LABEL_LENGTH} a label may have (RFC 1035 §2.3.4)`;
      }
      labelStart = i + 1;
    }
  }
  if (length > MAX_NAME_LENGTH) {
    return `the name is ${length} characters long, more than the ${MAX_NAME_LENGTH} a domain name may have (RFC 1035 §2.3.4)`;
  }
  return null;
}
