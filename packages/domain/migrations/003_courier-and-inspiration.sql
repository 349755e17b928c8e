-- Up Migration
-- What the courier-timeout and daily-inspiration handlers need besides the platform subset of 001.
-- Only adds (tables and indexes when missing); the platform's own tables keep their columns and rows.

-- The sweep of overdue courier tasks and the count of a courier's active tasks (reassignment).
CREATE INDEX IF NOT EXISTS courier_tasks_active_accepted_idx ON courier_tasks (accepted_at)
  WHERE status IN ('accepted', 'collected', 'in_transit');
CREATE INDEX IF NOT EXISTS courier_tasks_courier_idx ON courier_tasks (courier_id, status);

-- The pending exact-time check of each courier task: the delay queue never schedules a fired id
-- again, so each check has its own id (task and due time); a delivered or failed task's pending
-- check is found here and cancelled.
CREATE TABLE IF NOT EXISTS scheduler_courier_timeout_checks (
  task_id varchar(64) PRIMARY KEY,
  message_id varchar(256) NOT NULL,
  due_at timestamptz NOT NULL,
  state varchar(16) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Daily inspiration: opted-in users of one zone in user id order (one keyset walk per zone).
CREATE INDEX IF NOT EXISTS notification_preferences_inspiration_idx
  ON notification_preferences (timezone, user_id) WHERE inspiration_enabled;

-- At most one inspiration per user and local day: the claim is written in the transaction that
-- writes the notification request to the outbox, so a re-run, a retry or a restart finds it.
CREATE TABLE IF NOT EXISTS scheduler_inspiration_deliveries (
  user_id varchar(64) NOT NULL,
  local_date date NOT NULL,
  timezone varchar(64) NOT NULL,
  theme varchar(64) NOT NULL,
  prompt_source varchar(16) NOT NULL,
  execution_id varchar(64),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, local_date)
);

-- Down Migration
-- Nothing: dropping what a platform database may rely on is never automatic.
