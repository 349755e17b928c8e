export {
  MAX_BATCH_REQUESTS,
  MAX_CLAIM_LIMIT,
  MAX_ID_LENGTH,
  MAX_VISIBILITY_MS,
  createDelayStore,
} from './delay-store.ts';
export {
  FIRED_BUCKETS,
  delayStoreKeys,
  layoutKey,
  shardPrefix,
  storePatterns,
  type DelayStoreKeys,
} from './keys.ts';
export {
  openShardedStore,
  readShardLayout,
  type ShardLayout,
  type ShardRef,
  type ShardedDelayStore,
  type ShardedStoreOptions,
} from './sharded-store.ts';
export { parseItemValue, type StoredItem } from './item-value.ts';
export type {
  CancelOutcome,
  ClaimedItem,
  Clock,
  DelayStore,
  DelayStoreOptions,
  IfPending,
  ScheduleOutcome,
  StoreRequest,
  StoreRequestResult,
} from './types.ts';
