import { defineConfig } from 'prisma/config';

// `prisma generate` needs no database; DATABASE_URL may be unset on a fresh
// checkout, so read it without `env()`, which would throw.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
