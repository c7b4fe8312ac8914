"""Storage: SQLite database, migrations, blob store, audit log and repositories."""
