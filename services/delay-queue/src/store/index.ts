export {
  DEFAULT_FIRED_TTL_MS,
  MAX_CLAIM_LIMIT,
  MAX_ID_LENGTH,
  MAX_VISIBILITY_MS,
  createDelayStore,
} from './delay-store.ts';
export { FIRED_BUCKETS, delayStoreKeys, type DelayStoreKeys } from './keys.ts';
export type { RedisClient } from './scripts.ts';
export type {
  AckResult,
  CancelOutcome,
  Claim,
  ClaimOptions,
  ClaimedItem,
  Clock,
  DelayItem,
  DelayStore,
  DelayStoreOptions,
  ReleaseResult,
  ScheduleOutcome,
  StoreStats,
  WakeupSubscription,
} from './types.ts';
