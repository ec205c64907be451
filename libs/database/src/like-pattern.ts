/**
 * A search term for Prisma's `contains`/`startsWith`/`endsWith`, which put
 * the term into a LIKE pattern as it is: `%` and `_` would match anything
 * and `\` escape what follows. Escaped (PostgreSQL's default LIKE escape is
 * the backslash), the term matches only itself.
 */
export function likeLiteral(term: string): string {
  return term.replace(/[\\%_]/g, (character) => `\\${character}`);
}
