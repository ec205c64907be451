import { SetMetadata } from '@nestjs/common';

export const CHANGES_NOTHING = 'helopass:changes-nothing';

/**
 * Marks a POST that changes nothing (a dry run): the idempotency layer lets
 * it through without keeping its answer, since a replay of a stored answer
 * would say what was true then, not now, and keeping it would be a write.
 */
export const ChangesNothing = () => SetMetadata(CHANGES_NOTHING, true);
