// The daily-inspiration handler process: the service runtime loads its config, starts telemetry and
// runs it until SIGTERM/SIGINT (see service.ts for what it starts).
import { runMain } from '@openpenpal/service-kit/main';
import { inspirationService } from './service.ts';

await runMain(inspirationService);
