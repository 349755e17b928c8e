export { ERROR_CODES, errorCodes, type ErrorCode } from './codes.ts';
export {
  SchedulerError,
  errorCodeOf,
  isRetryable,
  isSchedulerError,
  toError,
  type SchedulerErrorOptions,
} from './scheduler-error.ts';
