import type { PgNames } from './names.ts';

/**
 * The append as one PL/pgSQL function, so that an append costs one round trip and its locks are held
 * for as short as possible. Its statements run with READ COMMITTED snapshots taken after the locks, so
 * the revision it reads is the latest committed one. Outcomes:
 *   appended  (o_revision: the last new revision, o_position: its position)
 *   replayed  (every id already stored in this stream, consecutively: the original last revision/position)
 *   duplicate (some ids stored elsewhere or out of order: o_revision is the current one)
 *   conflict  (the expected revision does not hold: o_revision is the current one, NULL for no stream)
 * Only names derived from the validated schema are spliced in; all values are parameters.
 */
export function appendFunctionSql(names: PgNames): string {
  return `
CREATE OR REPLACE FUNCTION ${names.appendFunction}(
  p_stream_id text,
  p_expected_kind text,
  p_expected_revision bigint,
  p_ids uuid[],
  p_types text[],
  p_data jsonb[],
  p_metadata jsonb[],
  p_append_lock text,
  p_stream_lock text
) RETURNS TABLE (o_outcome text, o_revision bigint, o_position bigint, o_stored_ids uuid[], o_stored_streams text[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_count bigint := cardinality(p_ids);
  v_current bigint;
  v_found bigint;
  v_same_stream boolean;
  v_offsets bigint;
  v_last_revision bigint;
  v_last_position bigint;
  v_stored_ids uuid[];
  v_stored_streams text[];
BEGIN
  -- Shared: tells readers that positions may be in flight (watermark.ts); appends never wait on it.
  -- Exclusive per stream: appends to one stream run one after the other.
  PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_append_lock, 0));
  PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_lock, 0));

  SELECT max(e.revision) INTO v_current FROM ${names.table} e WHERE e.stream_id = p_stream_id;

  SELECT count(*), bool_and(e.stream_id = p_stream_id), count(DISTINCT e.revision - i.ord),
         max(e.revision) FILTER (WHERE i.ord = v_count), max(e.position) FILTER (WHERE i.ord = v_count),
         array_agg(e.event_id ORDER BY i.ord), array_agg(DISTINCT e.stream_id)
    INTO v_found, v_same_stream, v_offsets, v_last_revision, v_last_position, v_stored_ids, v_stored_streams
    FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord)
    JOIN ${names.table} e ON e.event_id = i.id;
  IF v_found > 0 THEN
    IF v_found = v_count AND v_same_stream AND v_offsets = 1 THEN
      RETURN QUERY SELECT 'replayed'::text, v_last_revision, v_last_position, NULL::uuid[], NULL::text[];
    ELSE
      RETURN QUERY SELECT 'duplicate'::text, v_current, NULL::bigint, v_stored_ids, v_stored_streams;
    END IF;
    RETURN;
  END IF;

  IF (p_expected_kind = 'no_stream' AND v_current IS NOT NULL)
     OR (p_expected_kind = 'stream_exists' AND v_current IS NULL)
     OR (p_expected_kind = 'revision' AND v_current IS DISTINCT FROM p_expected_revision) THEN
    RETURN QUERY SELECT 'conflict'::text, v_current, NULL::bigint, NULL::uuid[], NULL::text[];
    RETURN;
  END IF;

  -- ORDER BY i.ord makes the bigserial follow the batch order, so positions and revisions agree.
  WITH inserted AS (
    INSERT INTO ${names.table} AS e (stream_id, revision, event_id, type, data, metadata)
    SELECT p_stream_id, coalesce(v_current, -1) + i.ord, i.id, i.type, i.data, i.metadata
      FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS i(id, type, data, metadata, ord)
     ORDER BY i.ord
    RETURNING e.position
  )
  SELECT max(inserted.position) INTO v_last_position FROM inserted;

  RETURN QUERY SELECT 'appended'::text, coalesce(v_current, -1) + v_count, v_last_position, NULL::uuid[], NULL::text[];
END;
$fn$`;
}
