-- One row per /imagine job: it is the quota reservation while 'reserved', and the statistics record afterwards.
-- Quota usage is the sum of `images` over rows that are reserved or delivered and not forgiven by an admin.
CREATE TABLE generations (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    usage_day         TEXT    NOT NULL,  -- the UTC day (YYYY-MM-DD) the images count against
    images            INTEGER NOT NULL CHECK (images BETWEEN 1 AND 10),
    counts_for_guild  INTEGER NOT NULL CHECK (counts_for_guild IN (0, 1)),  -- 0 for members of exempt roles
    state             TEXT    NOT NULL CHECK (state IN ('reserved', 'delivered', 'released', 'refused')),
    outcome           TEXT,              -- why it was released or refused, e.g. 'quota_user', 'ProviderTimeoutError'
    model             TEXT    NOT NULL,
    size              TEXT    NOT NULL,
    prompt_hash       TEXT    NOT NULL,  -- SHA-256 of the prompt
    prompt            TEXT,              -- only when STORE_PROMPTS is on
    created_at        INTEGER NOT NULL,  -- unix seconds
    expires_at        INTEGER,           -- unix seconds; a reservation still open then is released
    finished_at       INTEGER,
    duration_ms       INTEGER,
    forgiven_at       INTEGER            -- set when an admin resets the member's usage for the day
) STRICT;

CREATE INDEX generations_user_usage ON generations (guild_id, usage_day, user_id, images)
    WHERE state IN ('reserved', 'delivered') AND forgiven_at IS NULL;
CREATE INDEX generations_guild_usage ON generations (guild_id, usage_day, counts_for_guild, images)
    WHERE state IN ('reserved', 'delivered') AND forgiven_at IS NULL;
CREATE INDEX generations_open_reservations ON generations (expires_at) WHERE state = 'reserved';

-- Per-guild overrides of the default limits. A missing row inherits the default; daily_limit NULL is unlimited.
CREATE TABLE quota_limits (
    guild_id    INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('guild', 'user_default', 'role', 'user', 'exempt_role')),
    target_id   INTEGER NOT NULL DEFAULT 0,  -- the role or user id; 0 for 'guild' and 'user_default'
    daily_limit INTEGER CHECK (daily_limit IS NULL OR daily_limit >= 0),
    PRIMARY KEY (guild_id, kind, target_id)
) STRICT;

-- Every change an admin makes to quotas: who, what, when.
CREATE TABLE quota_admin_changes (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    target_id  INTEGER,
    old_value  TEXT,
    new_value  TEXT,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX quota_admin_changes_by_guild ON quota_admin_changes (guild_id, id);
