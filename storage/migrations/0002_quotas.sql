-- One row per /imagine job: it is the quota reservation while 'reserved', and the statistics record afterwards.
-- AUTOINCREMENT: an id is never reused, so a stale reservation id can never touch another job's row.
CREATE TABLE generations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    user_id           INTEGER NOT NULL CHECK (user_id > 0),
    usage_day         TEXT    NOT NULL,  -- the UTC day (YYYY-MM-DD) the images count against
    images            INTEGER NOT NULL CHECK (images BETWEEN 1 AND 10),
    counts_for_guild  INTEGER NOT NULL CHECK (counts_for_guild IN (0, 1)),  -- 0 for members of exempt roles
    state             TEXT    NOT NULL CHECK (state IN ('reserved', 'delivered', 'released', 'refused')),
    outcome           TEXT,              -- why it ended: 'delivered', 'quota_user', 'ProviderTimeoutError', ...
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

CREATE INDEX generations_by_guild_day ON generations (guild_id, usage_day);
CREATE INDEX generations_open_reservations ON generations (expires_at) WHERE state = 'reserved';

-- Images counted per guild, day and member (user_id 0: the guild's total of images that count against it).
-- Derived from `generations` by the triggers below, inside the same statement, so a limit check is two key
-- lookups however busy the day has been. A row counts while it is reserved or delivered and not forgiven.
CREATE TABLE daily_usage (
    guild_id  INTEGER NOT NULL,
    usage_day TEXT    NOT NULL,
    user_id   INTEGER NOT NULL,
    images    INTEGER NOT NULL CHECK (images >= 0),
    PRIMARY KEY (guild_id, usage_day, user_id)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER generations_counted AFTER INSERT ON generations
WHEN NEW.state IN ('reserved', 'delivered') AND NEW.forgiven_at IS NULL
BEGIN
    INSERT INTO daily_usage (guild_id, usage_day, user_id, images)
        VALUES (NEW.guild_id, NEW.usage_day, NEW.user_id, NEW.images)
        ON CONFLICT (guild_id, usage_day, user_id) DO UPDATE SET images = images + excluded.images;
    INSERT INTO daily_usage (guild_id, usage_day, user_id, images)
        SELECT NEW.guild_id, NEW.usage_day, 0, NEW.images WHERE NEW.counts_for_guild = 1
        ON CONFLICT (guild_id, usage_day, user_id) DO UPDATE SET images = images + excluded.images;
END;

-- Rows only ever stop counting (released, or forgiven); none starts counting after it was inserted.
CREATE TRIGGER generations_uncounted AFTER UPDATE OF state, forgiven_at ON generations
WHEN OLD.state IN ('reserved', 'delivered') AND OLD.forgiven_at IS NULL
 AND NOT (NEW.state IN ('reserved', 'delivered') AND NEW.forgiven_at IS NULL)
BEGIN
    UPDATE daily_usage SET images = images - OLD.images
        WHERE guild_id = OLD.guild_id AND usage_day = OLD.usage_day
          AND (user_id = OLD.user_id OR (user_id = 0 AND OLD.counts_for_guild = 1));
END;

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
