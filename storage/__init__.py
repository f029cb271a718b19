"""SQLite storage: one module opens the database and migrates it; repositories expose intentions, not cursors."""
