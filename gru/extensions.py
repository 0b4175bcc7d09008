"""Extensions, created without an app and bound in :func:`gru.app.create_app`."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names, so Alembic migrations are the same on SQLite and
# PostgreSQL and constraints can be dropped by name (batch mode on SQLite).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after the edge's single commit: rendering the answer must not
# reload every row it shows.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
# Batch mode lets Alembic alter tables on SQLite, which has no ALTER COLUMN.
migrate = Migrate(render_as_batch=True, compare_type=True)

from flask_wtf.csrf import CSRFProtect  # noqa: E402

#: CSRF tokens on the agents' pages (the API and /oauth use bearer tokens, not cookies)
csrf = CSRFProtect()
