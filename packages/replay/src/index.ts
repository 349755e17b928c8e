export { rerunExecution, type RerunDeps, type RerunRequest, type RerunResult } from './rerun.ts';
export {
  REPLAY_HEADER,
  republishStreamEvents,
  type RepublishRange,
  type RepublishRequest,
  type RepublishResult,
} from './republish.ts';
