export { CRON_DESCRIPTORS, DEFAULT_TIMEZONE, validateCron, type CronSchedule } from './schedule.ts';
export { fireTimesBetween, iterateFireTimes, nextFireTime } from './fire-times.ts';
export {
  DEFAULT_FIRE_ALL_CAP,
  DEFAULT_MISFIRE_GRACE_MS,
  DEFAULT_MISFIRE_POLICY,
  MISFIRE_POLICIES,
  planMisfires,
  type MisfirePlan,
  type MisfirePolicy,
  type MissedFire,
  type MissedReason,
  type PlanMisfiresInput,
} from './misfire.ts';
export {
  checkRunLimits,
  nextAllowedFireTime,
  validateRunLimits,
  type RunDecision,
  type RunLimits,
} from './run-limits.ts';
