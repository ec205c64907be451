import ipaddr from 'ipaddr.js';
import { ConfigError, integer, optional, type Env } from './env.js';

/**
 * Where each process serves Prometheus metrics: a listener of its own, apart
 * from the API's port (so that no API key, proxy or load balancer route
 * reaches it), on METRICS_HOST — loopback unless set. A process whose port
 * is unset serves no metrics at all.
 */
export interface MetricsConfig {
  /** The address every metrics listener binds (METRICS_HOST). */
  readonly host: string;
  /** The API's metrics port (METRICS_PORT); undefined: none. 0: any free port. */
  readonly apiPort: number | undefined;
  /** The policy server's (POLICY_METRICS_PORT). */
  readonly policyPort: number | undefined;
  /** The worker's (WORKER_METRICS_PORT). */
  readonly workerPort: number | undefined;
}

function port(env: Env, name: string): number | undefined {
  return optional(env, name) === undefined ? undefined : integer(env, name, 0, 0, 65535);
}

export function metricsConfig(env: Env): MetricsConfig {
  const host = optional(env, 'METRICS_HOST') ?? '127.0.0.1';
  if (!ipaddr.isValid(host)) {
    throw new ConfigError('METRICS_HOST must be an IP address (127.0.0.1 by default; 0.0.0.0 or :: for every interface)');
  }
  const config = { host, apiPort: port(env, 'METRICS_PORT'), policyPort: port(env, 'POLICY_METRICS_PORT'), workerPort: port(env, 'WORKER_METRICS_PORT') };
  const taken = [config.apiPort, config.policyPort, config.workerPort].filter((value) => value !== undefined && value !== 0);
  if (new Set(taken).size !== taken.length) {
    // `npm start` runs all three processes on one machine with one environment.
    throw new ConfigError('METRICS_PORT, POLICY_METRICS_PORT and WORKER_METRICS_PORT must differ');
  }
  return config;
}
