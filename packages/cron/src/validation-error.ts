import { SchedulerError } from '@openpenpal/errors';

/**
 * The package's one shape of input error: the admin API turns `details` into its `{error, details}`
 * body, so every rejection names the field (snake_case, as in the task definition) and the problem.
 */
export function validationError(field: string, problem: string): SchedulerError {
  return new SchedulerError('VALIDATION_FAILED', `invalid ${field}: ${problem}`, {
    details: { field, problem },
  });
}
