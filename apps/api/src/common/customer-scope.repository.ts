import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/database';
import type { OwnedResource } from './customer-scope.decorator.js';

/** Which organization a resource belongs to: the only queries the customer scope needs. */
@Injectable()
export class CustomerScopeRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The resource's organization, or null when there is no such resource (deleted servers included). */
  async organizationOf(resource: OwnedResource, id: string): Promise<string | null> {
    switch (resource) {
      case 'organization':
        return (await this.prisma.organization.findUnique({ where: { id }, select: { id: true } }))?.id ?? null;
      case 'mail server':
        return (await this.prisma.mailServer.findFirst({ where: { id, deletedAt: null }, select: { organizationId: true } }))?.organizationId ?? null;
      case 'domain':
        return (await this.prisma.domain.findUnique({ where: { id }, select: { organizationId: true } }))?.organizationId ?? null;
      case 'exception':
        return (await this.prisma.exception.findUnique({ where: { id }, select: { organizationId: true } }))?.organizationId ?? null;
    }
  }

  /** Whether the organization has a mail server announcing this HELO name (and holding this address, when given). */
  async hasServer(organizationId: string, heloHostname: string, address: string | null): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ found: number }[]>`
      SELECT 1 AS found FROM mail_servers s JOIN mail_server_addresses a ON a.mail_server_id = s.id AND a.deleted_at IS NULL
      WHERE s.organization_id = ${organizationId}::uuid AND s.deleted_at IS NULL AND s.helo_hostname = ${heloHostname}
        AND (${address}::inet IS NULL OR a.prefix >>= ${address}::inet)
      LIMIT 1`;
    return rows.length > 0;
  }
}
