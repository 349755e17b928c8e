import type { PgNames } from './names.ts';

/**
 * `appendMany` as one PL/pgSQL function: one round trip and one transaction for many streams, which is
 * what lets the recorder store a whole Kafka batch at once. The events of all requests arrive as flat
 * arrays; `p_counts[r]` says how many belong to request r, in order.
 *
 * Locks: the store's append lock in shared mode (see watermark.ts), then the same exclusive per-stream
 * lock `append_events` takes, for every stream of the call, in the order of their lock keys, so that two
 * calls locking overlapping streams cannot deadlock. Then, per request, the outcome `append_events`
 * would give, except that with `p_skip_stored[r]` ids already stored in the stream are left out:
 *   appended  (o_revision/o_position: of its last new event)
 *   replayed  (nothing new: o_revision/o_position of its last stored event)
 *   duplicate (ids stored in another stream, or a mix of stored and new without skip)
 *   conflict  (the expected revision does not hold; o_revision is the current one, NULL for no stream)
 * When any request fails, nothing is inserted and every request reports its outcome; otherwise all new
 * events are inserted by one statement, in request order, so positions follow that order.
 */
export function appendManyFunctionSql(names: PgNames): string {
  return `
CREATE OR REPLACE FUNCTION ${names.appendManyFunction}(
  p_stream_ids text[],
  p_expected_kinds text[],
  p_expected_revisions bigint[],
  p_skip_stored boolean[],
  p_counts int[],
  p_ids uuid[],
  p_types text[],
  p_data jsonb[],
  p_metadata jsonb[],
  p_append_lock text,
  p_stream_lock_prefix text
) RETURNS TABLE (o_outcome text, o_revision bigint, o_position bigint, o_appended int,
                 o_skipped_ids uuid[], o_stored_streams text[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_requests int := cardinality(p_stream_ids);
  v_key bigint;
  v_current bigint[];
  v_found_stream text[];
  v_found_revision bigint[];
  v_found_position bigint[];
  v_first int[] := '{}';
  v_keep boolean[] := '{}';
  v_outcome text[] := '{}';
  v_revision bigint[] := '{}';
  v_position bigint[] := '{}';
  v_appended int[] := '{}';
  v_last_ordinal int[] := '{}';
  v_ins_stream text[] := '{}';
  v_ins_revision bigint[] := '{}';
  v_ins_index int[] := '{}';
  v_ins_count int := 0;
  v_positions bigint[];
  v_failed boolean := false;
  v_next int := 1;
  v_stored int;
  v_elsewhere boolean;
  v_in_order boolean;
  v_prev bigint;
  v_top_revision bigint;
  v_top_position bigint;
  v_kind text;
  v_base bigint;
  r int;
  k int;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_append_lock, 0));
  FOR v_key IN
    SELECT DISTINCT hashtextextended(p_stream_lock_prefix || s, 0) FROM unnest(p_stream_ids) AS s ORDER BY 1
  LOOP
    PERFORM pg_advisory_xact_lock(v_key);
  END LOOP;

  -- Read after the locks: READ COMMITTED gives each statement a fresh snapshot.
  SELECT array_agg((SELECT max(e.revision) FROM ${names.table} e WHERE e.stream_id = q.s) ORDER BY q.ord)
    INTO v_current
    FROM unnest(p_stream_ids) WITH ORDINALITY AS q(s, ord);
  SELECT array_agg(e.stream_id ORDER BY i.ord), array_agg(e.revision ORDER BY i.ord),
         array_agg(e.position ORDER BY i.ord)
    INTO v_found_stream, v_found_revision, v_found_position
    FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord)
    LEFT JOIN ${names.table} e ON e.event_id = i.id;

  FOR r IN 1..v_requests LOOP
    v_first[r] := v_next;
    v_stored := 0;
    v_elsewhere := false;
    v_in_order := true;
    v_prev := NULL;
    v_top_revision := NULL;
    v_top_position := NULL;
    FOR k IN v_next..v_next + p_counts[r] - 1 LOOP
      v_keep[k] := v_found_stream[k] IS NULL;
      CONTINUE WHEN v_found_stream[k] IS NULL;
      v_stored := v_stored + 1;
      IF v_found_stream[k] <> p_stream_ids[r] THEN v_elsewhere := true; END IF;
      IF v_prev IS NOT NULL AND v_found_revision[k] <> v_prev + 1 THEN v_in_order := false; END IF;
      v_prev := v_found_revision[k];
      IF v_top_revision IS NULL OR v_found_revision[k] > v_top_revision THEN
        v_top_revision := v_found_revision[k];
        v_top_position := v_found_position[k];
      END IF;
    END LOOP;
    v_appended[r] := 0;
    v_kind := p_expected_kinds[r];

    IF v_elsewhere THEN
      v_outcome[r] := 'duplicate';
      v_revision[r] := v_current[r];
    ELSIF v_stored = p_counts[r] AND (p_skip_stored[r] OR v_in_order) THEN
      v_outcome[r] := 'replayed';
      v_revision[r] := v_top_revision;
      v_position[r] := v_top_position;
    ELSIF v_stored > 0 AND NOT p_skip_stored[r] THEN
      v_outcome[r] := 'duplicate';
      v_revision[r] := v_current[r];
    ELSIF (v_kind = 'no_stream' AND v_current[r] IS NOT NULL)
       OR (v_kind = 'stream_exists' AND v_current[r] IS NULL)
       OR (v_kind = 'revision' AND v_current[r] IS DISTINCT FROM p_expected_revisions[r]) THEN
      v_outcome[r] := 'conflict';
      v_revision[r] := v_current[r];
    ELSE
      v_outcome[r] := 'appended';
      v_base := coalesce(v_current[r], -1);
      FOR k IN v_next..v_next + p_counts[r] - 1 LOOP
        CONTINUE WHEN NOT v_keep[k];
        v_base := v_base + 1;
        v_ins_count := v_ins_count + 1;
        v_ins_stream[v_ins_count] := p_stream_ids[r];
        v_ins_revision[v_ins_count] := v_base;
        v_ins_index[v_ins_count] := k;
      END LOOP;
      v_revision[r] := v_base;
      v_appended[r] := p_counts[r] - v_stored;
      v_last_ordinal[r] := v_ins_count;
    END IF;
    IF v_outcome[r] IN ('duplicate', 'conflict') THEN v_failed := true; END IF;
    v_next := v_next + p_counts[r];
  END LOOP;

  IF NOT v_failed AND v_ins_count > 0 THEN
    -- ORDER BY u.ord makes the bigserial follow the request order (as in append_events).
    WITH inserted AS (
      INSERT INTO ${names.table} AS e (stream_id, revision, event_id, type, data, metadata)
      SELECT u.s, u.rev, p_ids[u.idx], p_types[u.idx], p_data[u.idx], p_metadata[u.idx]
        FROM unnest(v_ins_stream, v_ins_revision, v_ins_index) WITH ORDINALITY AS u(s, rev, idx, ord)
       ORDER BY u.ord
      RETURNING e.position
    )
    SELECT array_agg(inserted.position ORDER BY inserted.position) INTO v_positions FROM inserted;
    FOR r IN 1..v_requests LOOP
      IF v_outcome[r] = 'appended' THEN v_position[r] := v_positions[v_last_ordinal[r]]; END IF;
    END LOOP;
  END IF;

  RETURN QUERY
    SELECT v_outcome[q], v_revision[q],
           CASE WHEN v_failed THEN NULL ELSE v_position[q] END,
           CASE WHEN v_failed THEN 0 ELSE v_appended[q] END,
           ARRAY(SELECT p_ids[k2] FROM generate_series(v_first[q], v_first[q] + p_counts[q] - 1) AS k2
                  WHERE NOT v_keep[k2] ORDER BY k2),
           ARRAY(SELECT DISTINCT v_found_stream[k2]
                   FROM generate_series(v_first[q], v_first[q] + p_counts[q] - 1) AS k2
                  WHERE v_found_stream[k2] IS NOT NULL)
      FROM generate_series(1, v_requests) AS q
     ORDER BY q;
END;
$fn$`;
}
