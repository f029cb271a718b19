-- Per-guild moderation settings; a guild without a row uses the column defaults.
CREATE TABLE moderation_settings (
    guild_id                INTEGER PRIMARY KEY,
    modlog_channel_id       INTEGER,
    modlog_problem          TEXT,     -- why the mod-log could not be used, until an admin has been told
    modlog_problem_reported INTEGER NOT NULL DEFAULT 0 CHECK (modlog_problem_reported IN (0, 1)),
    output_check            INTEGER NOT NULL DEFAULT 1 CHECK (output_check IN (0, 1)),
    default_blocklist       INTEGER NOT NULL DEFAULT 1 CHECK (default_blocklist IN (0, 1)),
    strike_limit            INTEGER NOT NULL DEFAULT 3 CHECK (strike_limit >= 1),
    strike_window_hours     INTEGER NOT NULL DEFAULT 24 CHECK (strike_window_hours >= 1),
    suspension_hours        INTEGER NOT NULL DEFAULT 24 CHECK (suspension_hours >= 1)
) STRICT;

-- "Block when the score reaches block_at": higher is more lenient. Categories without a row use the defaults.
CREATE TABLE moderation_thresholds (
    guild_id INTEGER NOT NULL,
    category TEXT    NOT NULL,
    block_at REAL    NOT NULL CHECK (block_at BETWEEN 0 AND 1),
    PRIMARY KEY (guild_id, category)
) STRICT;

CREATE TABLE blocklist_entries (
    guild_id INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('word', 'regex')),
    pattern  TEXT    NOT NULL,
    added_by INTEGER NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, kind, pattern)
) STRICT;

-- Every refusal by a moderation layer. Refusals of the prompt are strikes unless pardoned; a withheld picture, or a
-- refusal during a run a moderator approved, is recorded but is no strike. The prompt and options are kept so
-- moderators can review an appeal and approval can run the job.
CREATE TABLE moderation_refusals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    layer       TEXT    NOT NULL CHECK (layer IN ('blocklist', 'endpoint', 'provider', 'output')),
    findings    TEXT    NOT NULL,  -- JSON object: category -> score, or {"blocklist": "<entry>"}
    prompt      TEXT    NOT NULL,
    options     TEXT    NOT NULL,  -- JSON: the job's size, quality and count
    strike      INTEGER NOT NULL CHECK (strike IN (0, 1)),
    created_at  INTEGER NOT NULL,
    pardoned_at INTEGER,
    pardoned_by INTEGER
) STRICT;
CREATE INDEX moderation_refusals_strikes ON moderation_refusals (guild_id, user_id, created_at)
    WHERE strike = 1 AND pardoned_at IS NULL;

CREATE TABLE moderation_appeals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    refusal_id      INTEGER NOT NULL UNIQUE REFERENCES moderation_refusals (id),
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
    created_at      INTEGER NOT NULL,
    decided_by      INTEGER,
    decided_at      INTEGER
) STRICT;
CREATE INDEX moderation_appeals_by_member ON moderation_appeals (guild_id, user_id, created_at);

CREATE TABLE moderation_suspensions (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    until        INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    suspended_by INTEGER,           -- NULL: suspended automatically for strikes
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) STRICT;
