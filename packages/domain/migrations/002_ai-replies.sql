-- Up Migration
-- What the AI pen-pal reply handler needs on ai_replies besides 001's status and user_id
-- (openpenpal-domain.md §3, §4). Only adds: the platform's own columns and rows stay as they are.

-- The request as the scheduler received it: when it was asked (quota days and cooldowns count
-- from here), in which zone, and which AiReplyRequested event created the row.
ALTER TABLE ai_replies ADD COLUMN IF NOT EXISTS requested_at timestamptz;
ALTER TABLE ai_replies ADD COLUMN IF NOT EXISTS timezone varchar(64);
ALTER TABLE ai_replies ADD COLUMN IF NOT EXISTS request_event_id varchar(64);
-- A generation in progress: status 'generating' with the claim of one worker until claimed_until.
-- The reply is written only under the claim's token, so two replicas never write one reply twice,
-- and a worker that died mid-generation leaves a claim that expires.
ALTER TABLE ai_replies ADD COLUMN IF NOT EXISTS claim_token varchar(64);
ALTER TABLE ai_replies ADD COLUMN IF NOT EXISTS claimed_until timestamptz;
-- True when the provider was unavailable and the persona's template reply was sent instead.
ALTER TABLE ai_replies ADD COLUMN IF NOT EXISTS fallback boolean NOT NULL DEFAULT false;

-- The sweep and the pending gauge read due unsent replies; the quota and the cooldown read a
-- user's requests by time.
CREATE INDEX IF NOT EXISTS ai_replies_due_idx ON ai_replies (scheduled_at) WHERE status IN ('scheduled', 'generating');
CREATE INDEX IF NOT EXISTS ai_replies_user_requested_idx ON ai_replies (user_id, requested_at);

-- Down Migration
-- Nothing: the columns may hold the platform's data; dropping them is never automatic.
