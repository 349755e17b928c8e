-- Up Migration
-- The subset of OpenPenPal's tables the scheduler reads and changes (openpenpal-domain.md §3).
-- A platform database already has most of them: every statement here only adds what is missing
-- (a table, a column, an index) and never changes or drops what exists, except widening
-- notifications.type (the platform's varchar(20) rejected its own type names).
-- Ids are strings, as the platform stores them (its ids are not all UUIDs).

CREATE TABLE IF NOT EXISTS users (
  id varchar(64) PRIMARY KEY,
  username varchar(64) NOT NULL UNIQUE,
  nickname varchar(128),
  email varchar(255),
  role varchar(32) NOT NULL DEFAULT 'user',
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS notification_preferences (
  user_id varchar(64) PRIMARY KEY,
  email_enabled boolean NOT NULL DEFAULT true,
  sms_enabled boolean NOT NULL DEFAULT false,
  push_enabled boolean NOT NULL DEFAULT true,
  quiet_hours varchar(32) DEFAULT '22:00-08:00',
  timezone varchar(64) NOT NULL DEFAULT 'Asia/Shanghai',
  language varchar(16) NOT NULL DEFAULT 'zh-CN',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Decision (§3): inspiration is opt-in, on the channels the user chose (in_app, email, webhook).
ALTER TABLE notification_preferences ADD COLUMN IF NOT EXISTS inspiration_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE notification_preferences ADD COLUMN IF NOT EXISTS inspiration_channels text[] NOT NULL DEFAULT '{in_app}';
-- Decision: the webhook channel needs an endpoint per user; off unless the user set one.
ALTER TABLE notification_preferences ADD COLUMN IF NOT EXISTS webhook_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE notification_preferences ADD COLUMN IF NOT EXISTS webhook_url varchar(2048);

CREATE TABLE IF NOT EXISTS letters (
  id varchar(64) PRIMARY KEY,
  user_id varchar(64) NOT NULL,
  author_id varchar(64),
  recipient_id varchar(64),
  title varchar(255),
  content text,
  status varchar(32) NOT NULL DEFAULT 'draft',
  visibility varchar(16) NOT NULL DEFAULT 'private',
  type varchar(16) NOT NULL DEFAULT 'original',
  reply_to varchar(64),
  scheduled_at timestamptz,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
-- Decision (§3): the original wrote to these columns without declaring them.
ALTER TABLE letters ADD COLUMN IF NOT EXISTS published_at timestamptz;
ALTER TABLE letters ADD COLUMN IF NOT EXISTS cleanup_at timestamptz;
-- The release sweep reads due scheduled letters; the cleanup walks old drafts in id order.
CREATE INDEX IF NOT EXISTS letters_scheduled_due_idx ON letters (scheduled_at) WHERE status = 'scheduled';
CREATE INDEX IF NOT EXISTS letters_cleanup_candidates_idx ON letters (id) WHERE status IN ('draft', 'generated');

CREATE TABLE IF NOT EXISTS letter_codes (
  id varchar(64) PRIMARY KEY,
  letter_id varchar(64) NOT NULL,
  code varchar(64) NOT NULL UNIQUE,
  status varchar(32) NOT NULL DEFAULT 'unactivated',
  bound_at timestamptz,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS letter_codes_letter_id_idx ON letter_codes (letter_id);

CREATE TABLE IF NOT EXISTS ai_replies (
  id varchar(64) PRIMARY KEY,
  original_letter_id varchar(64) NOT NULL,
  reply_letter_id varchar(64),
  persona varchar(32) NOT NULL,
  provider varchar(64),
  delay_hours integer,
  scheduled_at timestamptz,
  sent_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Decision (§3): a reply's state and its requester.
ALTER TABLE ai_replies ADD COLUMN IF NOT EXISTS status varchar(16) NOT NULL DEFAULT 'scheduled';
ALTER TABLE ai_replies ADD COLUMN IF NOT EXISTS user_id varchar(64);

CREATE TABLE IF NOT EXISTS couriers (
  id varchar(64) PRIMARY KEY,
  user_id varchar(64) NOT NULL UNIQUE,
  name varchar(128),
  level integer NOT NULL DEFAULT 1,
  zone_code varchar(64),
  parent_id varchar(64),
  managed_op_code_prefix varchar(16),
  status varchar(16) NOT NULL DEFAULT 'pending',
  rating numeric(3, 2) NOT NULL DEFAULT 5.00,
  task_count integer NOT NULL DEFAULT 0,
  max_daily_tasks integer NOT NULL DEFAULT 10,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS courier_tasks (
  id varchar(64) PRIMARY KEY,
  courier_id varchar(64),
  letter_code varchar(64),
  status varchar(16) NOT NULL DEFAULT 'available',
  priority varchar(16) NOT NULL DEFAULT 'normal',
  accepted_at timestamptz,
  deadline timestamptz,
  completed_at timestamptz,
  pickup_op_code varchar(16),
  delivery_op_code varchar(16),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Decision (§3): reminders counted per task.
ALTER TABLE courier_tasks ADD COLUMN IF NOT EXISTS timeout_count integer NOT NULL DEFAULT 0;
ALTER TABLE courier_tasks ADD COLUMN IF NOT EXISTS last_timeout_notice_at timestamptz;

CREATE TABLE IF NOT EXISTS task_assignment_histories (
  id bigserial PRIMARY KEY,
  task_id varchar(64) NOT NULL,
  previous_courier_id varchar(64),
  new_courier_id varchar(64),
  assignment_type varchar(32) NOT NULL,
  reassignment_reason text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS notifications (
  id varchar(64) PRIMARY KEY,
  user_id varchar(64) NOT NULL,
  type varchar(64) NOT NULL,
  channel varchar(16) NOT NULL DEFAULT 'in_app',
  priority varchar(16) NOT NULL DEFAULT 'normal',
  title varchar(255),
  content text,
  data jsonb,
  status varchar(16) NOT NULL DEFAULT 'pending',
  scheduled_at timestamptz,
  sent_at timestamptz,
  read_at timestamptz,
  retry_count integer NOT NULL DEFAULT 0,
  error_message text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notifications_user_id_idx ON notifications (user_id, created_at);
-- Decision (§3): type wide enough for every type name (the original's varchar(20) was not).
DO $$
BEGIN
  IF EXISTS (
    SELECT FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = 'notifications' AND column_name = 'type'
      AND character_maximum_length < 64
  ) THEN
    ALTER TABLE notifications ALTER COLUMN type TYPE varchar(64);
  END IF;
END $$;

-- The scheduler's own tables in the domain database (prefixed scheduler_).

-- Transactional outbox: messages a domain change causes, written in the change's transaction and
-- relayed to Kafka after commit (value = Avro single-object encoding, headers as text).
CREATE TABLE IF NOT EXISTS scheduler_outbox (
  id bigserial PRIMARY KEY,
  topic varchar(255) NOT NULL,
  message_key text,
  value bytea,
  headers jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

-- What the scheduler knows of each future letter's schedule from the letter service's events:
-- a cancel recorded here wins over a release that is already on its way.
CREATE TABLE IF NOT EXISTS scheduler_future_letters (
  letter_id varchar(64) PRIMARY KEY,
  scheduled_at timestamptz NOT NULL,
  state varchar(16) NOT NULL,
  event_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- The sweep's second pass: letters without a time of their own, due by the event's time.
CREATE INDEX IF NOT EXISTS scheduler_future_letters_due_idx ON scheduler_future_letters (scheduled_at)
  WHERE state = 'scheduled';

-- Down Migration
-- Nothing: these tables may hold the platform's own data; dropping them is never automatic.
