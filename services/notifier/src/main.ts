// The notifier's process: the service runtime runs it (config, telemetry, shutdown).
import { runMain } from '@openpenpal/service-kit/main';
import { notifierService } from './service.ts';

await runMain(notifierService);
