"""The workbench state database: SQLAlchemy models and Alembic migrations.

Capabilities add their tables here through new migrations, never by
`create_all`: a workspace created by an older release must upgrade in place.
"""

from . import dataset_models  # noqa: F401 - registers the datasets tables on Base.metadata
from . import deploy_models  # noqa: F401 - registers the deployment tables on Base.metadata
from . import drift_models  # noqa: F401 - registers the drift-check table on Base.metadata
from . import registry_models  # noqa: F401 - registers the registry tables on Base.metadata
from . import pipeline_models  # noqa: F401 - registers the pipeline tables on Base.metadata
from .models import Base, Event, WorkspaceMeta

__all__ = ["Base", "Event", "WorkspaceMeta"]
