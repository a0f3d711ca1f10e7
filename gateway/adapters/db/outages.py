"""Which failures mean "the database is unreachable" (retry later), as opposed to a bug."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc


def is_database_outage(error: BaseException) -> bool:
    """A lost or refused connection, or no pooled connection free in time."""
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, (sa_exc.OperationalError, sa_exc.InterfaceError)
        )
    # asyncpg raises OSError (refused, reset) before SQLAlchemy can wrap it; the pool's own
    # TimeoutError means every connection is stuck on a database that stopped answering.
    return isinstance(error, (sa_exc.TimeoutError, ConnectionError, OSError))
