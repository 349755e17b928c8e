import { createAiReplyRepository, migrateDomain, type GeneratedReply } from '@openpenpal/domain';
import { createPgTestContext, uniqueName, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';

const stack = inject('stack');
let pg: PgTestContext | undefined;

afterEach(async () => {
  await pg?.close();
  pg = undefined;
});

const generated: GeneratedReply = {
  title: 'Re: Hello',
  content: 'Dear friend',
  provider: 'fake',
  fallback: false,
};

async function dueReply() {
  pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const repository = createAiReplyRepository({ pool: pg.pool, schema: pg.schema });
  const id = uniqueName('reply');
  const letterId = uniqueName('ltr');
  await pg.pool.query(`INSERT INTO letters (id, user_id, content) VALUES ($1, 'u1', 'hello')`, [letterId]);
  await pg.pool.query(
    `INSERT INTO ai_replies (id, original_letter_id, persona, scheduled_at, status, user_id, requested_at)
     VALUES ($1, $2, 'poet', now() - interval '1 minute', 'scheduled', 'u1', now() - interval '1 hour')`,
    [id, letterId],
  );
  return { repository, id, letterId, pg };
}

describe('AI reply claims', () => {
  it('lets exactly one of two concurrent claims take a due reply', async () => {
    const { repository, id } = await dueReply();
    const now = new Date();
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => repository.claim(i % 2 === 0 ? id : null, now, 60_000, 4)),
    );
    expect(claims.flat().map((c) => c.id)).toEqual([id]);
    expect(await repository.status(id)).toBe('generating');
  });

  it('writes a reply only under the live claim: an expired claim taken over cannot write, and nothing is written twice', async () => {
    const { repository, id, letterId, pg } = await dueReply();
    const [first] = await repository.claim(id, new Date(), 1, 0);
    expect(first?.letterContent).toBe('hello');
    // The first claim lasts 1 ms: a claim 1 s later finds it expired (its worker died) and takes over.
    const [second] = await repository.claim(id, new Date(Date.now() + 1_000), 60_000, 0);
    expect(second?.claimToken).toBeDefined();
    expect(second?.claimToken).not.toBe(first?.claimToken);

    expect(await repository.complete(first!, generated, new Date(), () => [])).toBeNull();
    const sent = await repository.complete(second!, generated, new Date(), () => []);
    expect(sent).toMatchObject({ id, letterId, provider: 'fake', fallback: false });
    expect(await repository.complete(second!, generated, new Date(), () => [])).toBeNull();
    expect(await repository.claim(id, new Date(Date.now() + 120_000), 60_000, 5)).toEqual([]);
    const { rows } = await pg.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM letters WHERE reply_to = $1 AND type = 'reply'`,
      [letterId],
    );
    expect(rows[0]?.n).toBe(1);
    expect(await repository.status(id)).toBe('sent');
  });

  it('gives a claim back after a failed generation, so the next attempt can take it at once', async () => {
    const { repository, id } = await dueReply();
    const [claimed] = await repository.claim(id, new Date(), 60_000, 0);
    expect(await repository.claim(id, new Date(), 60_000, 0)).toEqual([]);
    await repository.unclaim(claimed!);
    expect(await repository.status(id)).toBe('scheduled');
    expect((await repository.claim(id, new Date(), 60_000, 0)).map((c) => c.id)).toEqual([id]);
  });

  it('does not claim a reply before its time, unless its own trigger says it is due', async () => {
    const { repository, id } = await dueReply();
    const early = new Date(Date.now() - 3_600_000);
    expect(await repository.claim(id, early, 60_000, 5)).toEqual([]);
    expect(await repository.claim(null, early, 60_000, 5, new Date())).toEqual([]);
    expect((await repository.claim(id, early, 60_000, 5, new Date())).map((c) => c.id)).toEqual([id]);
    expect(await repository.countDue(new Date())).toBe(1);
    expect(await repository.countDue(new Date(Date.now() - 3_600_000))).toBe(0);
  });
});
