"""Alembic environment: always run with a connection handed over in code."""

from alembic import context

from jupyter_mlops.core.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the workbench always passes one
    raise RuntimeError("jupyter-mlops migrations run through jupyter_mlops.core.db.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
