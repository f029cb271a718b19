-- Small key/value facts the bot keeps about itself (command tree hash, safety salt).
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
