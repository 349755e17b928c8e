export { createApiClient, signToken, type ApiAnswer, type ApiClient } from './client/api.ts';
export { createPlatform, type Platform } from './client/db.ts';
export {
  createKafkaSide,
  kafkaFromStackEnv,
  type KafkaSide,
  type Observed,
  type TopicWatch,
} from './client/kafka.ts';
export { startFakeProvider, type FakeProvider, type ProviderMode } from './fake-provider.ts';
export {
  createServiceProcess,
  type ProcessExit,
  type ReadinessChange,
  type ServiceProcess,
} from './service-process.ts';
export { FAKE_CHAT, SERVICES, type ServiceSpec } from './services.ts';
export { assertPortFree, startSystem, type System, type SystemInfo, type SystemOptions } from './system.ts';
