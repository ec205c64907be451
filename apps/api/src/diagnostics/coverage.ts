import type { ExceptionScope } from '@app/exceptions';

/** Which enforcement path lets a (HELO name, client address) pair through, told apart honestly. */
export interface HeloCoverage {
  /** The policy server (`check_policy_service`): the exception's own scope, the pair exactly for `pair`. */
  policyServer: { covered: boolean; exceptionId: string | null; scope: ExceptionScope | null };
  /**
   * The cidr map (`postfix-cidr` with check_client_access, `rspamd-ip`): the
   * addresses of `pair` and `ip` exceptions, which pass ANY HELO name from them.
   */
  cidrMap: { covered: boolean; exceptionId: string | null; scope: ExceptionScope | null };
  /** The HELO map (`postfix-helo` with check_helo_access): `helo` names, and by Postfix's default their subdomains. */
  heloMap: { covered: boolean; exceptionId: string | null; entry: string | null };
  /** One sentence for the CSR. */
  explanation: string;
}

export function describeCoverage(
  policy: { id: string; scope: ExceptionScope } | null,
  cidr: { id: string; scope: ExceptionScope } | null,
  helo: { id: string; name: string } | null,
  heloName: string | null,
): HeloCoverage {
  const coverage: HeloCoverage = {
    policyServer: { covered: policy !== null, exceptionId: policy?.id ?? null, scope: policy?.scope ?? null },
    cidrMap: { covered: cidr !== null, exceptionId: cidr?.id ?? null, scope: cidr?.scope ?? null },
    heloMap: { covered: helo !== null, exceptionId: helo?.id ?? null, entry: helo?.name ?? null },
    explanation: '',
  };
  const parts: string[] = [];
  if (policy === null) {
    parts.push('No exception covers this pair: the policy server answers DUNNO.');
  } else if (policy.scope === 'pair') {
    parts.push('The policy server lets exactly this HELO name from this address through (pair scope).');
  } else {
    parts.push(`The policy server lets it through (${policy.scope} scope).`);
  }
  if (cidr !== null && (policy === null || policy.scope === 'pair')) {
    parts.push(
      `The cidr map (postfix-cidr, rspamd-ip) lists this address (a ${cidr.scope} exception), so where it is used instead of ` +
        'the policy server ANY HELO name from this address gets through, not only the granted one.',
    );
  }
  if (helo !== null && helo.name !== heloName) {
    parts.push(
      `The HELO map lists ${helo.name}, which Postfix also matches for this subdomain unless ` +
        'parent_domain_matches_subdomains leaves out smtpd_access_maps.',
    );
  }
  coverage.explanation = parts.join(' ');
  return coverage;
}
