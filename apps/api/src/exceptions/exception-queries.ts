import { Injectable } from '@nestjs/common';
import {
  InvalidAddressError,
  InvalidFieldError,
  InvalidHostnameError,
  normalizeHeloHostname,
  normalizePrefix,
  type Page,
} from '@app/domain';
import { ExceptionsService, type ExceptionView } from '@app/exceptions';
import type { ListExceptionsQueryDto } from './dto/exception.dto.js';

/** Turns the list query's HELO and address filters into their normalized forms (400 naming the field when bad). */
@Injectable()
export class ExceptionQueries {
  constructor(private readonly exceptions: ExceptionsService) {}

  list(query: ListExceptionsQueryDto): Promise<Page<ExceptionView>> {
    let heloHostname: string | undefined;
    let containing: string | undefined;
    try {
      heloHostname = query.helo === undefined ? undefined : normalizeHeloHostname(query.helo);
    } catch (error) {
      throw error instanceof InvalidHostnameError ? new InvalidFieldError('helo', error.message) : error;
    }
    try {
      containing = query.address === undefined ? undefined : normalizePrefix(query.address).cidr;
    } catch (error) {
      throw error instanceof InvalidAddressError ? new InvalidFieldError('address', error.message) : error;
    }
    return this.exceptions.list(
      {
        organizationId: query.organizationId,
        mailServerId: query.mailServerId,
        status: query.status,
        scope: query.scope,
        heloHostname,
        containing,
        activeAt: query.activeAt,
        expiresBefore: query.expiresBefore,
        requestedBy: query.requestedBy,
        awaitingApproval: query.awaitingApproval === 'true',
        unusedSince: query.unusedSince,
      },
      query.limit,
      query.cursor,
    );
  }
}
