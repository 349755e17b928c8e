import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * The API's metrics. The two signature counters keep the names the platform's dashboard and alerts
 * already use (openpenpal-domain.md §7).
 */
export function createApiMetrics(registry: Registry) {
  const signatureFailures = new Counter({
    name: 'scheduler_event_signature_failures_total',
    help: 'Signed event requests refused: missing, malformed, expired or mismatching signature',
    labelNames: ['reason'],
    registers: [registry],
  });
  const replayAttempts = new Counter({
    name: 'scheduler_event_replay_attempts_total',
    help: 'Signed event requests refused because their signature was already used within the window',
    registers: [registry],
  });
  const requests = new Histogram({
    name: 'scheduler_api_request_duration_seconds',
    help: 'Admin API requests by route, method and status code',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    signatureFailure: (reason: string) => signatureFailures.inc({ reason }),
    replayAttempt: () => replayAttempts.inc(),
    request: (route: string, method: string, status: number, seconds: number) =>
      requests.observe({ route, method, status: String(status) }, seconds),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
