import ipaddr from 'ipaddr.js';
import { InvalidAddressError, normalizePrefix } from '@app/domain';
import { isAcceptResult, logicalLines, refusedResultReason, splitEntry, type MapEntry } from './postfix-map.js';

/** A prefix as numbers, for containment tests. */
interface Block {
  readonly bits: 32 | 128;
  readonly network: bigint;
  readonly length: number;
}

function block(cidr: string): Block {
  const [address, length] = ipaddr.parseCIDR(cidr);
  const bytes = address.toByteArray();
  const network = bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
  return { bits: bytes.length === 4 ? 32 : 128, network, length };
}

/** `outer` holds every address of `inner`. */
function holds(outer: Block, inner: Block): boolean {
  if (outer.bits !== inner.bits || outer.length > inner.length) {
    return false;
  }
  const shift = BigInt(outer.bits - outer.length);
  return outer.network >> shift === inner.network >> shift;
}

/** Prefixes either nest or are disjoint. */
function overlap(a: Block, b: Block): boolean {
  return holds(a, b) || holds(b, a);
}

interface Condition {
  /** Null: a pattern Postfix could not read either; assumed to touch everything and cover nothing. */
  readonly block: Block | null;
  readonly negated: boolean;
}

/** Which addresses a rule matches: its pattern (maybe negated) within the `if` blocks around it. */
interface Rule {
  readonly line: number;
  readonly text: string;
  readonly accept: boolean;
  /** Imported as an entry of its own (so later lines inside it are redundant, not new). */
  readonly imported: boolean;
  readonly conditions: Condition[];
}

/** Every address of `target` matches the condition. */
function conditionCovers(condition: Condition, target: Block): boolean {
  if (condition.block === null) {
    return false;
  }
  return condition.negated ? !overlap(condition.block, target) : holds(condition.block, target);
}

/** Some address of `target` may match the condition (erring towards yes). */
function conditionTouches(condition: Condition, target: Block): boolean {
  if (condition.block === null) {
    return true;
  }
  return condition.negated ? !holds(condition.block, target) : overlap(condition.block, target);
}

/**
 * The pattern of a cidr_table(5) line: `address`, `address/length`, either
 * optionally inside `[]`. Refuses what Postfix would skip (host bits set)
 * and what no mail server holds (wider than the widest prefix HeloPass takes).
 */
export function parseCidrPattern(pattern: string): { cidr: string } | { problem: string } {
  if (pattern === '') {
    return { problem: 'the pattern is missing' };
  }
  const bracketed = /^\[([^\]]+)\](\/\d+)?$/.exec(pattern);
  const text = bracketed ? `${bracketed[1]}${bracketed[2] ?? ''}` : pattern.replace(/^\[(.*)\]$/, '$1');
  try {
    return { cidr: normalizePrefix(text).cidr };
  } catch (error) {
    if (!(error instanceof InvalidAddressError)) {
      throw error;
    }
    const network = networkOf(text);
    if (network !== undefined) {
      // cidr_table(5): Postfix logs "non-null host address bits" and skips the line.
      const single = text.split('/')[0];
      return {
        problem:
          `host bits are set in ${text}: Postfix skips this line ("non-null host address bits … perhaps you should use ${network}"); ` +
          `write ${network} for the network, or ${single} for the one address`,
      };
    }
    return { problem: `${text} ${error.message}` };
  }
}

/** The network address of an address/length whose host bits are set, else undefined. */
function networkOf(text: string): string | undefined {
  try {
    const [address, length] = ipaddr.parseCIDR(text);
    const network =
      address.kind() === 'ipv4'
        ? ipaddr.IPv4.networkAddressFromCIDR(text)
        : ipaddr.IPv6.networkAddressFromCIDR(text);
    const render = (value: ipaddr.IPv4 | ipaddr.IPv6) =>
      value.kind() === 'ipv6' ? (value as ipaddr.IPv6).toRFC5952String() : value.toString();
    return render(network) === render(address) ? undefined : `${render(network)}/${length}`;
  } catch {
    return undefined;
  }
}

/**
 * Reads a cidr_table(5) map for `check_client_access`. Lines whose result
 * accepts the client become entries (the canonical prefix is the key); every
 * other line is refused with the reason. Postfix applies the first pattern
 * that matches, so an OK line that an earlier REJECT (or DUNNO, …) line
 * matches in whole or in part is refused too: importing it would let in
 * addresses the map keeps out. An OK line inside an earlier imported OK
 * prefix is skipped as redundant.
 */
export function parseCidrMap(text: string): MapEntry[] {
  const entries: MapEntry[] = [];
  const rules: Rule[] = [];
  const blocks: Array<{ line: number; text: string; condition: Condition }> = [];
  for (const logical of logicalLines(text)) {
    const refuse = (reason: string) => entries.push({ ...logical, kind: 'refused', reason });
    if (logical.orphan) {
      refuse('a continuation line with no line before it to continue (Postfix skips it)');
      continue;
    }
    const { pattern, result } = splitEntry(logical.text);
    if (/^endif$/i.test(pattern)) {
      if (blocks.pop() === undefined) {
        refuse('endif without a matching if');
      }
      continue;
    }
    const opensBlock = /^if$/i.test(pattern);
    const rawPattern = opensBlock ? splitEntry(result).pattern : pattern;
    const negated = rawPattern.startsWith('!');
    const parsed = parseCidrPattern(negated ? rawPattern.slice(1) : rawPattern);
    if ('problem' in parsed) {
      if (opensBlock) {
        // The block's lines still follow; they match nothing Postfix could tell.
        blocks.push({ line: logical.line, text: logical.text, condition: { block: null, negated: false } });
      }
      refuse(parsed.problem);
      continue;
    }
    const target = block(parsed.cidr);
    const own: Condition = { block: target, negated };
    if (opensBlock) {
      blocks.push({ line: logical.line, text: logical.text, condition: own });
      refuse('an if…endif block: Postfix applies the lines inside it only to addresses that match it too; flatten it into plain lines by hand');
      continue;
    }
    const accept = isAcceptResult(result);
    const conditions = [...blocks.map((open) => open.condition), own];
    const enclosing = blocks.at(-1);
    let reason: string | undefined;
    if (enclosing) {
      reason = `inside the if…endif block of line ${enclosing.line} (${enclosing.text}); flatten the block into plain lines by hand`;
    } else if (negated) {
      reason = 'a negated pattern (!) matches every address outside the prefix; it cannot become an exception';
    } else if (!accept) {
      reason = refusedResultReason(result);
    }
    if (reason === undefined) {
      for (const rule of rules) {
        if (!rule.conditions.every((condition) => conditionTouches(condition, target))) {
          continue;
        }
        const whole = rule.conditions.every((condition) => conditionCovers(condition, target));
        if (rule.accept) {
          if (rule.imported && whole) {
            entries.push({
              ...logical,
              kind: 'skipped',
              reason: `already covered by line ${rule.line} (${rule.text}), which Postfix matches first`,
            });
            reason = '';
            break;
          }
          continue;
        }
        reason = whole
          ? `never reached: line ${rule.line} (${rule.text}) matches these addresses first`
          : `line ${rule.line} (${rule.text}) matches part of this prefix first; an exception cannot leave out addresses — split the prefix around them`;
        break;
      }
    }
    rules.push({ line: logical.line, text: logical.text, accept, imported: reason === undefined, conditions });
    if (reason === undefined) {
      entries.push({ ...logical, kind: 'accept', key: parsed.cidr, result, notes: [] });
    } else if (reason !== '') {
      refuse(reason);
    }
  }
  return entries;
}
