// The AI pen-pal reply handler process: the service runtime loads its config, starts telemetry and
// runs it until SIGTERM/SIGINT (see service.ts for what it starts).
import { runMain } from '@openpenpal/service-kit/main';
import { aiRepliesService } from './service.ts';

await runMain(aiRepliesService);
