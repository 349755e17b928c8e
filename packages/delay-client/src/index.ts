export { createDelayClient, type DelayClient, type DelayClientOptions, type DelayReceipt } from './client.ts';
export {
  DEFAULT_MAX_HORIZON_MS,
  MAX_MESSAGE_ID_LENGTH,
  MIN_DUE_AT_MS,
  type CancelInput,
  type DelayTarget,
  type ScheduleInput,
} from './requests.ts';
