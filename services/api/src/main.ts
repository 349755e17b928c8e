// The admin API's process: the service runtime runs it (config, telemetry, listener, shutdown).
import { runMain } from '@openpenpal/service-kit/main';
import { apiService } from './service.ts';

await runMain(apiService);
