-- Small facts the bot keeps about itself (the safety salt).
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- What was last registered with Discord, per application and scope ('global' or 'guild:<id>').
CREATE TABLE command_registrations (
    application_id INTEGER NOT NULL,
    scope          TEXT    NOT NULL,
    payload_hash   TEXT    NOT NULL,
    registered_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (application_id, scope)
) STRICT;
