-- Posted results, so the buttons on them and /history work days later: a button's custom id carries only the
-- generation id, and everything else is looked up here. The prompt is kept because the result shows it publicly
-- anyway and Reroll and Edit need it.
CREATE TABLE results (
    generation_id INTEGER PRIMARY KEY REFERENCES generations (id),
    guild_id      INTEGER NOT NULL,
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    prompt        TEXT    NOT NULL,
    options       TEXT    NOT NULL,  -- JSON: size, quality, count
    created_at    INTEGER NOT NULL,
    deleted_at    INTEGER
) STRICT;
CREATE INDEX results_by_member ON results (guild_id, user_id, generation_id DESC);
