import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { HeloPassMetrics } from '@app/metrics';

/**
 * Every HTTP answer counted and timed by route template (`/v1/exceptions/:id`,
 * never the raw URL: one series per route, whatever the ids), method and
 * status. A request that matched no route is `(unmatched)`. The feed's fast
 * path answers in an `onRequest` hook; `onResponse` runs for it all the same.
 */
export function installHttpMetrics(app: NestFastifyApplication): void {
  const metrics = app.get(HeloPassMetrics, { strict: false });
  app.getHttpAdapter().getInstance().addHook('onResponse', async (request, reply) => {
    metrics.observeHttp(request.method, request.routeOptions.url ?? '(unmatched)', reply.statusCode, reply.elapsedTime / 1000);
  });
}
