import { toError } from '@openpenpal/errors';
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';

/** kafkajs reports the groups it could not delete on the error it throws. */
interface DeleteGroupsFailure {
  groups?: { groupId: string; errorCode?: number; error?: { type?: string } }[];
}

/**
 * Deletes the consumer groups whose id starts with `prefix` and that have no member left (state
 * `Empty`): those of readers that were killed before they could delete their own. A group with a
 * member is never touched (the broker refuses, NON_EMPTY_GROUP, should one join in between).
 * Readers keep no offsets they would need again, so an idle group of theirs holds nothing of
 * value. Returns the groups deleted; a failure is logged, never thrown.
 */
export async function deleteIdleGroups(admin: Admin, prefix: string, logger: Logger): Promise<string[]> {
  try {
    const candidates = (await admin.listGroups()).groups
      .map((group) => group.groupId)
      .filter((groupId) => groupId.startsWith(prefix));
    if (candidates.length === 0) return [];
    const idle = (await admin.describeGroups(candidates)).groups
      .filter((group) => group.state === 'Empty')
      .map((group) => group.groupId);
    if (idle.length === 0) return [];
    const failed = await admin.deleteGroups(idle).then(
      () => new Set<string>(),
      (error: unknown) => new Set(((error as DeleteGroupsFailure).groups ?? []).map((g) => g.groupId)),
    );
    const deleted = idle.filter((groupId) => !failed.has(groupId));
    if (deleted.length > 0) logger.info({ groups: deleted }, 'deleted idle reader groups');
    return deleted;
  } catch (error) {
    logger.warn({ err: toError(error), prefix }, 'could not look for idle reader groups');
    return [];
  }
}

/** Deletes one reader group; a group that does not exist (the reader never joined) is fine. */
export async function deleteGroup(admin: Admin, groupId: string, logger: Logger): Promise<void> {
  await admin.deleteGroups([groupId]).catch((error: unknown) => {
    if (JSON.stringify(error).includes('GROUP_ID_NOT_FOUND')) return;
    logger.warn({ err: toError(error), groupId }, 'could not delete the reader group');
  });
}
