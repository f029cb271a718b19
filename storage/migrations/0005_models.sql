-- A server's choice of file format for its pictures (webp or jpeg keep uploads small). Changes are recorded in
-- quota_admin_changes, the server's audit trail of admin changes.
CREATE TABLE guild_output_settings (
    guild_id           INTEGER PRIMARY KEY,
    output_format      TEXT    NOT NULL CHECK (output_format IN ('png', 'webp', 'jpeg')),
    output_compression INTEGER CHECK (output_compression BETWEEN 0 AND 100)
) STRICT;

-- Retirement notices posted in a server's mod-log: one per model, shutdown date and notice (30, 7 or 1 days
-- before), so a restart never posts one twice.
CREATE TABLE model_notices (
    guild_id      INTEGER NOT NULL,
    model         TEXT    NOT NULL,
    shutdown_date TEXT    NOT NULL,
    days_before   INTEGER NOT NULL,
    posted_at     INTEGER NOT NULL,
    PRIMARY KEY (guild_id, model, shutdown_date, days_before)
) STRICT;
