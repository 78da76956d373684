"""The migrations build exactly the schema the models describe, on whichever database runs the suite."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from app.extensions import db
from app.models import EmissionFactor


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_upgrade_creates_every_table_and_loads_the_factor_catalog(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        assert "alembic_version" in tables
        factors = db.session.scalars(select(EmissionFactor).where(EmissionFactor.version == 1)).all()
        assert len(factors) == 8


def test_db_upgrade_command_is_idempotent(app):
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(EmissionFactor)) == 8
