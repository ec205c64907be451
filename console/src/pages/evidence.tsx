import { Badge } from '../components.js';
import type { AddressEvidence, Evidence } from '../types.js';

/** proven (PTR), claimed (SPF alone: the customer's own word), or unproven. */
export function addressStanding(evidence: AddressEvidence): 'proven' | 'claimed' | 'unproven' {
  if (!evidence.proven) return 'unproven';
  return evidence.method === 'spf' ? 'claimed' : 'proven';
}

export function EvidenceList({ evidence }: { evidence: Evidence }) {
  return (
    <ul class="evidence">
      <li>
        HELO <code>{evidence.helo.heloHostname}</code> <Badge status={evidence.helo.proven ? 'proven' : 'unproven'} /> <span class="muted">{evidence.helo.reason}</span>
      </li>
      {evidence.addressEvidence.map((address) => (
        <li key={address.address}>
          <code>{address.address}</code> <Badge status={addressStanding(address)} /> <span class="muted">{address.reason}</span>
        </li>
      ))}
    </ul>
  );
}
