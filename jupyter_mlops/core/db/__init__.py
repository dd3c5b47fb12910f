"""The workbench state database: SQLAlchemy models and Alembic migrations.

Capabilities add their tables here through new migrations, never by
`create_all`: a workspace created by an older release must upgrade in place.
"""

from .models import Base, Event, WorkspaceMeta

__all__ = ["Base", "Event", "WorkspaceMeta"]
