// The delay queue's process: the service runtime runs it (config, telemetry, shutdown).
import { runMain } from '@openpenpal/service-kit/main';
import { delayQueueService } from './service.ts';

await runMain(delayQueueService);
