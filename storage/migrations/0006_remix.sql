-- Remixes: the pictures a job started from, kept so that Reroll (and an approved appeal) remixes the same ones after
-- the interaction that brought them, and Discord's expiring attachment links, are gone.
CREATE TABLE image_inputs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,  -- who gave them
    created_at INTEGER NOT NULL   -- unix seconds
) STRICT;

CREATE INDEX image_inputs_by_user ON image_inputs (guild_id, user_id);

CREATE TABLE image_input_pictures (
    input_id  INTEGER NOT NULL REFERENCES image_inputs (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL CHECK (position >= 0),
    extension TEXT    NOT NULL CHECK (extension IN ('png', 'jpeg', 'webp')),
    width     INTEGER NOT NULL,
    height    INTEGER NOT NULL,
    data      BLOB    NOT NULL,  -- as sent to the provider (checked, and shrunk where it was larger)
    PRIMARY KEY (input_id, position)
) STRICT, WITHOUT ROWID;

-- How many pictures a job sent with its prompt: input images cost tokens too, for spend accounting.
ALTER TABLE generations ADD COLUMN input_images INTEGER NOT NULL DEFAULT 0 CHECK (input_images >= 0);
