import { classifyPgError, qualified, type DomainParts } from '@openpenpal/domain';
import type { PromptProvider } from '../provider/prompt-provider.ts';
import type { Prompt } from './prompts.ts';

/** The prompt of one zone and local day: the provider's for everyone, or the built-in set per user. */
export type ZonePrompt = { source: 'provider'; prompt: Prompt } | { source: 'builtin' };

/** The language a provider prompt is asked in: the service groups users by zone, not language. */
export const PROVIDER_LANGUAGE = 'zh-CN';

export interface ZonePrompts {
  /**
   * The zone's prompt for `localDate`: the one stored by an earlier batch, run or replica when there
   * is one, else chosen now (the provider once; the built-in set when it is not configured, fails,
   * its circuit is open or it answers malformed) and stored — the first stored choice wins.
   */
  forZone(input: {
    timezone: string;
    localDate: string;
    executionId: string;
    signal: AbortSignal;
    logger: { warn(details: object, message: string): void };
  }): Promise<ZonePrompt>;
}

interface Row {
  source: string;
  theme: string | null;
  prompt: string | null;
  style: string | null;
  tags: string[] | null;
}

function fromRow(row: Row): ZonePrompt {
  if (row.source === 'provider' && row.theme !== null && row.prompt !== null) {
    return {
      source: 'provider',
      prompt: { theme: row.theme, prompt: row.prompt, style: row.style ?? '', tags: row.tags ?? [] },
    };
  }
  return { source: 'builtin' };
}

export function createZonePrompts(options: {
  pool: DomainParts['pool'];
  schema: string;
  provider: PromptProvider | undefined;
}): ZonePrompts {
  const table = qualified(options.schema, 'scheduler_inspiration_prompts');
  const read = async (timezone: string, localDate: string): Promise<ZonePrompt | undefined> => {
    try {
      const { rows } = await options.pool.query<Row>(
        `SELECT source, theme, prompt, style, tags FROM ${table} WHERE timezone = $1 AND local_date = $2::date`,
        [timezone, localDate],
      );
      return rows[0] === undefined ? undefined : fromRow(rows[0]);
    } catch (error) {
      throw classifyPgError('the inspiration prompt query', error);
    }
  };
  return {
    forZone: async ({ timezone, localDate, executionId, signal, logger }) => {
      const stored = await read(timezone, localDate);
      if (stored) return stored;
      let chosen: ZonePrompt = { source: 'builtin' };
      if (options.provider) {
        try {
          const prompt = await options.provider({ language: PROVIDER_LANGUAGE, localDate }, signal);
          chosen = { source: 'provider', prompt };
        } catch (error) {
          if (signal.aborted) throw error;
          logger.warn(
            { timezone, localDate, error: (error as Error).message },
            'the inspiration provider failed: the built-in set is used for this zone today',
          );
        }
      }
      const prompt = chosen.source === 'provider' ? chosen.prompt : undefined;
      try {
        await options.pool.query(
          `INSERT INTO ${table} (timezone, local_date, source, theme, prompt, style, tags, execution_id)
           VALUES ($1, $2::date, $3, $4, $5, $6, $7::text[], $8)
           ON CONFLICT (timezone, local_date) DO NOTHING`,
          [
            timezone,
            localDate,
            chosen.source,
            prompt?.theme ?? null,
            prompt?.prompt ?? null,
            prompt?.style ?? null,
            prompt ? [...prompt.tags] : null,
            executionId,
          ],
        );
      } catch (error) {
        throw classifyPgError('the inspiration prompt insert', error);
      }
      // Another run or replica may have stored its choice first: theirs is the zone's.
      return (await read(timezone, localDate)) ?? chosen;
    },
  };
}
