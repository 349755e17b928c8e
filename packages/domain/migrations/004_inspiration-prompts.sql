-- Up Migration
-- The daily inspiration's prompt of one zone and local day: chosen once (the provider's, or the
-- rotating built-in set when the provider is not configured, fails or answers malformed) and read
-- back by every batch, re-run, retry and replica of that zone and day, so all its users get the same.
-- Only adds; a built-in choice keeps the prompt columns empty (the set picks per user and language).
CREATE TABLE IF NOT EXISTS scheduler_inspiration_prompts (
  timezone varchar(64) NOT NULL,
  local_date date NOT NULL,
  source varchar(16) NOT NULL,
  theme varchar(64),
  prompt text,
  style varchar(64),
  tags text[],
  execution_id varchar(64),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (timezone, local_date)
);

-- Down Migration
-- Nothing: dropping what a platform database may rely on is never automatic.
