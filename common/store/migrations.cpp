// SPDX-License-Identifier: MIT
#include "common/store/migrations.hpp"

#include <array>

namespace multivio::store {
namespace {

// Times are INTEGER milliseconds since the Unix epoch (UTC). JSON lists and
// objects are TEXT. The partial indexes cover exactly the predicates the
// daemon's due-time and lease-recovery queries use. The PostgreSQL form is the
// same schema with BIGSERIAL/BIGINT ids and BIGINT milliseconds; flags stay
// INTEGER 0/1 so both engines hold the same values.
constexpr std::array<Migration, 5> kMigrations{{
    {1, "initial schema", R"sql(
CREATE TABLE accounts (
  id          INTEGER PRIMARY KEY,
  platform    TEXT NOT NULL,
  name        TEXT NOT NULL,
  handle      TEXT NOT NULL DEFAULT '',
  options     TEXT NOT NULL DEFAULT '{}',
  secrets     TEXT NOT NULL DEFAULT '',
  healthy     INTEGER NOT NULL DEFAULT 1,
  health_note TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  removed_at  INTEGER,
  UNIQUE (platform, name)
);
CREATE TABLE posts (
  id           INTEGER PRIMARY KEY,
  text         TEXT NOT NULL,
  media        TEXT NOT NULL DEFAULT '[]',
  tags         TEXT NOT NULL DEFAULT '[]',
  scheduled_at INTEGER,
  timezone     TEXT NOT NULL DEFAULT '',
  key          TEXT UNIQUE,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE TABLE targets (
  id               INTEGER PRIMARY KEY,
  post_id          INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  account_id       INTEGER NOT NULL REFERENCES accounts (id),
  variant          TEXT,
  options          TEXT NOT NULL DEFAULT '{}',
  status           TEXT NOT NULL CHECK (status IN ('draft','scheduled','claimed','publishing','published',
                                                   'retry_wait','failed','unknown','cancelled')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,
  lease_owner      TEXT NOT NULL DEFAULT '',
  lease_expires_at INTEGER,
  idempotency_key  TEXT NOT NULL,
  remote_ids       TEXT NOT NULL DEFAULT '[]',
  remote_url       TEXT NOT NULL DEFAULT '',
  error            TEXT NOT NULL DEFAULT '',
  published_at     INTEGER
);
CREATE INDEX targets_due ON targets (next_attempt_at) WHERE status IN ('scheduled','retry_wait');
CREATE INDEX targets_lease ON targets (lease_expires_at) WHERE status IN ('claimed','publishing');
CREATE INDEX targets_post ON targets (post_id);
CREATE INDEX targets_account ON targets (account_id);
CREATE TABLE attempts (
  id              INTEGER PRIMARY KEY,
  target_id       INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
  number          INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  owner           TEXT NOT NULL,
  started_at      INTEGER NOT NULL,
  finished_at     INTEGER,
  outcome         TEXT NOT NULL DEFAULT 'pending',
  http_status     INTEGER NOT NULL DEFAULT 0,
  remote_id       TEXT NOT NULL DEFAULT '',
  error           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_target ON attempts (target_id);
)sql",
     R"sql(
CREATE TABLE accounts (
  id          BIGSERIAL PRIMARY KEY,
  platform    TEXT NOT NULL,
  name        TEXT NOT NULL,
  handle      TEXT NOT NULL DEFAULT '',
  options     TEXT NOT NULL DEFAULT '{}',
  secrets     TEXT NOT NULL DEFAULT '',
  healthy     INTEGER NOT NULL DEFAULT 1,
  health_note TEXT NOT NULL DEFAULT '',
  created_at  BIGINT NOT NULL,
  removed_at  BIGINT,
  UNIQUE (platform, name)
);
CREATE TABLE posts (
  id           BIGSERIAL PRIMARY KEY,
  text         TEXT NOT NULL,
  media        TEXT NOT NULL DEFAULT '[]',
  tags         TEXT NOT NULL DEFAULT '[]',
  scheduled_at BIGINT,
  timezone     TEXT NOT NULL DEFAULT '',
  key          TEXT UNIQUE,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
CREATE TABLE targets (
  id               BIGSERIAL PRIMARY KEY,
  post_id          BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  account_id       BIGINT NOT NULL REFERENCES accounts (id),
  variant          TEXT,
  options          TEXT NOT NULL DEFAULT '{}',
  status           TEXT NOT NULL CHECK (status IN ('draft','scheduled','claimed','publishing','published',
                                                   'retry_wait','failed','unknown','cancelled')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT,
  lease_owner      TEXT NOT NULL DEFAULT '',
  lease_expires_at BIGINT,
  idempotency_key  TEXT NOT NULL,
  remote_ids       TEXT NOT NULL DEFAULT '[]',
  remote_url       TEXT NOT NULL DEFAULT '',
  error            TEXT NOT NULL DEFAULT '',
  published_at     BIGINT
);
CREATE INDEX targets_due ON targets (next_attempt_at) WHERE status IN ('scheduled','retry_wait');
CREATE INDEX targets_lease ON targets (lease_expires_at) WHERE status IN ('claimed','publishing');
CREATE INDEX targets_post ON targets (post_id);
CREATE INDEX targets_account ON targets (account_id);
CREATE TABLE attempts (
  id              BIGSERIAL PRIMARY KEY,
  target_id       BIGINT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
  number          INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  owner           TEXT NOT NULL,
  started_at      BIGINT NOT NULL,
  finished_at     BIGINT,
  outcome         TEXT NOT NULL DEFAULT 'pending',
  http_status     INTEGER NOT NULL DEFAULT 0,
  remote_id       TEXT NOT NULL DEFAULT '',
  error           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_target ON attempts (target_id);
)sql"},
    {2, "ai usage, stored secrets, post options", R"sql(
ALTER TABLE posts ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
-- Attempts made before the last `post retry`: a retry gets a fresh budget.
ALTER TABLE targets ADD COLUMN retry_from INTEGER NOT NULL DEFAULT 0;
CREATE TABLE ai_usage (
  id                INTEGER PRIMARY KEY,
  at                INTEGER NOT NULL,
  provider          TEXT NOT NULL,
  model             TEXT NOT NULL,
  purpose           TEXT NOT NULL,
  ok                INTEGER NOT NULL,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  latency_ms        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ai_usage_at ON ai_usage (at);
CREATE TABLE secrets (
  name       TEXT PRIMARY KEY,
  sealed     TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql",
     R"sql(
ALTER TABLE posts ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
-- Attempts made before the last `post retry`: a retry gets a fresh budget.
ALTER TABLE targets ADD COLUMN retry_from INTEGER NOT NULL DEFAULT 0;
CREATE TABLE ai_usage (
  id                BIGSERIAL PRIMARY KEY,
  at                BIGINT NOT NULL,
  provider          TEXT NOT NULL,
  model             TEXT NOT NULL,
  purpose           TEXT NOT NULL,
  ok                INTEGER NOT NULL,
  prompt_tokens     BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  latency_ms        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ai_usage_at ON ai_usage (at);
CREATE TABLE secrets (
  name       TEXT PRIMARY KEY,
  sealed     TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql"},
    // Every account, post and API token belongs to a user; the local CLI is
    // the user "local" (id 1), which owns everything made before this version.
    // SQLite cannot add a REFERENCES column with a non-NULL default while
    // foreign keys are on, so there the user columns carry no constraint and
    // `user remove` checks ownership itself.
    {3, "users and API tokens", R"sql(
CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
INSERT INTO users (id, name, created_at) VALUES (1, 'local', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
ALTER TABLE accounts ADD COLUMN user_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE posts ADD COLUMN user_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX accounts_user ON accounts (user_id);
CREATE INDEX posts_user ON posts (user_id, id);
CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT NOT NULL DEFAULT '',
  hash         TEXT NOT NULL UNIQUE,
  scopes       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,
  last_used_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
)sql",
     R"sql(
CREATE TABLE users (
  id         BIGSERIAL PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
INSERT INTO users (id, name, created_at) VALUES (1, 'local', (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT);
SELECT setval(pg_get_serial_sequence('users', 'id'), 1);
ALTER TABLE accounts ADD COLUMN user_id BIGINT NOT NULL DEFAULT 1 REFERENCES users (id);
ALTER TABLE posts ADD COLUMN user_id BIGINT NOT NULL DEFAULT 1 REFERENCES users (id);
CREATE INDEX accounts_user ON accounts (user_id);
CREATE INDEX posts_user ON posts (user_id, id);
CREATE TABLE api_tokens (
  id           BIGSERIAL PRIMARY KEY,
  user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT NOT NULL DEFAULT '',
  hash         TEXT NOT NULL UNIQUE,
  scopes       TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
)sql"},
    // The media library: one row per (user, content hash). The file itself is
    // shared by every row with the same sha256, so media_sha serves the
    // "is anyone else still using this file" check on removal.
    {4, "media library", R"sql(
CREATE TABLE media (
  id          INTEGER PRIMARY KEY,
  user_id     INTEGER NOT NULL DEFAULT 1 REFERENCES users (id) ON DELETE CASCADE,
  sha256      TEXT NOT NULL,
  path        TEXT NOT NULL,
  mime        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  bytes       INTEGER NOT NULL,
  width       INTEGER,
  height      INTEGER,
  duration_ms INTEGER,
  alt         TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  UNIQUE (user_id, sha256)
);
CREATE INDEX media_sha ON media (sha256);
)sql",
     R"sql(
CREATE TABLE media (
  id          BIGSERIAL PRIMARY KEY,
  user_id     BIGINT NOT NULL DEFAULT 1 REFERENCES users (id) ON DELETE CASCADE,
  sha256      TEXT NOT NULL,
  path        TEXT NOT NULL,
  mime        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  bytes       BIGINT NOT NULL,
  width       INTEGER,
  height      INTEGER,
  duration_ms BIGINT,
  alt         TEXT NOT NULL DEFAULT '',
  created_at  BIGINT NOT NULL,
  UNIQUE (user_id, sha256)
);
CREATE INDEX media_sha ON media (sha256);
)sql"},
    // 1. targets.progress: what an adapter keeps between attempts (an upload
    //    session, a container id) so a retry resumes instead of posting twice.
    // 2. events: one row per target status change, written by a trigger so
    //    no code path can forget it; the REST listener streams them
    //    (/v1/events, resumable by id). Only the newest 100,000 are kept.
    // 3. Account names and post keys are unique per user, not globally: a
    //    name another user took must neither fail nor reveal that it exists.
    //    SQLite cannot drop a constraint, so accounts and posts are rebuilt
    //    (with foreign keys off, the documented way, so targets survive).
    {5, "target progress, status events, per-user names and keys", R"sql(
ALTER TABLE targets ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
CREATE TABLE accounts_v5 (
  id          INTEGER PRIMARY KEY,
  platform    TEXT NOT NULL,
  name        TEXT NOT NULL,
  handle      TEXT NOT NULL DEFAULT '',
  options     TEXT NOT NULL DEFAULT '{}',
  secrets     TEXT NOT NULL DEFAULT '',
  healthy     INTEGER NOT NULL DEFAULT 1,
  health_note TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  removed_at  INTEGER,
  user_id     INTEGER NOT NULL DEFAULT 1,
  UNIQUE (user_id, platform, name)
);
INSERT INTO accounts_v5 (id, platform, name, handle, options, secrets, healthy, health_note, created_at, removed_at,
                         user_id)
  SELECT id, platform, name, handle, options, secrets, healthy, health_note, created_at, removed_at, user_id
  FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_v5 RENAME TO accounts;
CREATE INDEX accounts_user ON accounts (user_id);
CREATE TABLE posts_v5 (
  id           INTEGER PRIMARY KEY,
  text         TEXT NOT NULL,
  media        TEXT NOT NULL DEFAULT '[]',
  tags         TEXT NOT NULL DEFAULT '[]',
  scheduled_at INTEGER,
  timezone     TEXT NOT NULL DEFAULT '',
  key          TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  options      TEXT NOT NULL DEFAULT '{}',
  user_id      INTEGER NOT NULL DEFAULT 1,
  UNIQUE (user_id, key)
);
INSERT INTO posts_v5 (id, text, media, tags, scheduled_at, timezone, key, created_at, updated_at, options, user_id)
  SELECT id, text, media, tags, scheduled_at, timezone, key, created_at, updated_at, options, user_id FROM posts;
DROP TABLE posts;
ALTER TABLE posts_v5 RENAME TO posts;
CREATE INDEX posts_user ON posts (user_id, id);
CREATE TABLE events (
  id        INTEGER PRIMARY KEY,
  user_id   INTEGER NOT NULL,
  post_id   INTEGER NOT NULL,
  target_id INTEGER NOT NULL,
  status    TEXT NOT NULL,
  at        INTEGER NOT NULL
);
CREATE INDEX events_user ON events (user_id, id);
CREATE TRIGGER targets_status_event AFTER UPDATE OF status ON targets
WHEN NEW.status <> OLD.status
BEGIN
  INSERT INTO events (user_id, post_id, target_id, status, at)
    SELECT p.user_id, NEW.post_id, NEW.id, NEW.status,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)
    FROM posts p WHERE p.id = NEW.post_id;
  DELETE FROM events WHERE id <= last_insert_rowid() - 100000;
END;
)sql",
     R"sql(
ALTER TABLE targets ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
CREATE TABLE events (
  id        BIGSERIAL PRIMARY KEY,
  user_id   BIGINT NOT NULL,
  post_id   BIGINT NOT NULL,
  target_id BIGINT NOT NULL,
  status    TEXT NOT NULL,
  at        BIGINT NOT NULL
);
CREATE INDEX events_user ON events (user_id, id);
CREATE FUNCTION multivio_target_event() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  new_id BIGINT;
BEGIN
  INSERT INTO events (user_id, post_id, target_id, status, at)
    SELECT p.user_id, NEW.post_id, NEW.id, NEW.status, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT
    FROM posts p WHERE p.id = NEW.post_id
    RETURNING id INTO new_id;
  DELETE FROM events WHERE id <= new_id - 100000;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER targets_status_event AFTER UPDATE OF status ON targets
  FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION multivio_target_event();
ALTER TABLE accounts DROP CONSTRAINT accounts_platform_name_key;
ALTER TABLE accounts ADD CONSTRAINT accounts_user_platform_name_key UNIQUE (user_id, platform, name);
ALTER TABLE posts DROP CONSTRAINT posts_key_key;
ALTER TABLE posts ADD CONSTRAINT posts_user_key_key UNIQUE (user_id, key);
)sql",
     true},
}};

// Foreign-key order: copying inserts in this order and clears in reverse.
constexpr std::array<const char*, 10> kTables{"users",    "accounts", "posts",      "targets", "attempts",
                                              "ai_usage", "secrets",  "api_tokens", "media",   "events"};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

std::span<const char* const> tables() { return kTables; }

}  // namespace multivio::store
