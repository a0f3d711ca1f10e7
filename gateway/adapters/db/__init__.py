"""State on SQLAlchemy Core: SQLite (embedded default, aiosqlite) or PostgreSQL (asyncpg)."""
