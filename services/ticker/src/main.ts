// The ticker's process: config, telemetry, logger, the service, shutdown (all in runMain).
import { runMain } from '@openpenpal/service-kit/main';
import { tickerService } from './service.ts';

await runMain(tickerService);
