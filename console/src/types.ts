/** The API's resources as the console reads them (see the API docs at /docs). */
export interface Caller {
  keyId: string;
  name: string;
  role: 'admin' | 'csr' | 'auditor' | string;
  owner: string | null;
}

export interface Session {
  id: string;
  caller: Caller;
  csrfToken: string;
  expiresAt: string;
  idleTimeoutSeconds: number;
}

export interface Organization {
  id: string;
  name: string;
  customerRef: string | null;
  status: 'active' | 'suspended';
  notes: string | null;
  createdAt: string;
}

export interface MailServer {
  id: string;
  organizationId: string;
  heloHostname: string;
  addresses: string[];
  description: string | null;
}

export interface AddressEvidence {
  address: string;
  proven: boolean;
  method: 'ptr' | 'spf' | null;
  domain: string | null;
  ptrNames: string[];
  spfMechanism: string | null;
  reason: string;
}

export interface Evidence {
  mailServerId: string;
  heloHostname: string;
  addresses: string[];
  verifiedDomains: string[];
  helo: { heloHostname: string; proven: boolean; domain: string | null; reason: string };
  addressEvidence: AddressEvidence[];
}

export interface Domain {
  id: string;
  organizationId: string;
  name: string;
  status: 'pending' | 'verified' | 'lapsed' | 'failed';
  challenge: { recordName: string; recordType: 'TXT'; recordValue: string; expiresAt: string };
  verifiedAt: string | null;
  lastCheckedAt: string | null;
}

export interface DomainCheck {
  id: string;
  checkedAt: string;
  trigger: string;
  outcome: string;
  recordName: string;
  resolvers: { resolver: string; status: string; values: string[]; matched: boolean; error: string | null }[];
  statusBefore: string;
  statusAfter: string;
  detail: string;
}

export interface Exception {
  id: string;
  organizationId: string;
  mailServerId: string;
  scope: 'pair' | 'ip' | 'helo';
  status: 'pending_approval' | 'active' | 'suspended' | 'revoked' | 'expired' | 'rejected';
  reason: string;
  ticketRef: string | null;
  startsAt: string;
  expiresAt: string;
  heloHostname: string;
  addresses: string[];
  override: boolean;
  justification: string | null;
  approvalReasons: string[];
  evidence: unknown;
  requestedBy: string;
  requestedByOwner: string;
  approvedByOwner: string | null;
  approvedAt: string | null;
  /** The approver's reason, when one was given. */
  approvalNote: string | null;
  rejectedByOwner: string | null;
  rejectionReason: string | null;
  revokedAt: string | null;
  revokeReason: string | null;
  suspensionCauses: string[];
  /** A renewal waiting for approval, and why it needs a second person. */
  renewal: { expiresAt: string; requestedBy: string | null; requestedByOwner: string | null; approvalReasons: string[] } | null;
  lastMatchedAt: string | null;
  matchCount: number;
  createdAt: string;
}

export interface DnsAnswer {
  status: string;
  records: string[];
  resolver: string | null;
  error: string | null;
}

export interface Diagnosis {
  syntax: { announced: string; form: string; normalized: string | null; valid: boolean; problem: string | null };
  neverPublic: string | null;
  dns: { a: DnsAnswer; aaaa: DnsAnswer; mx: DnsAnswer };
  postfix: { rejected: boolean | null; reply: string | null; restriction: string | null; explanation: string };
  client: { address: string | null; problem: string | null; ptr: DnsAnswer } | null;
  owners?: { organizationId: string; organizationName: string; organizationStatus: string; mailServerId: string }[];
  exception?: Exception | null;
  advice: string[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
