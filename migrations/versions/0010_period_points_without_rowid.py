"""SQLite: period_points keyed by its primary key alone (WITHOUT ROWID), so an earning moves its week,
month and year rows in the key's own b-tree and a friend's total is one lookup, not the key's index
and then the row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _rebuild(with_rowid: bool) -> None:
    # PostgreSQL has no such table kind and InnoDB already keeps rows in the primary key.
    if op.get_bind().dialect.name != 'sqlite':
        return
    # Batch mode copies the table into a new one (indexes and constraints included) and renames it.
    with op.batch_alter_table('period_points', recreate='always',
                              table_kwargs={'sqlite_with_rowid': with_rowid}):
        pass


def upgrade():
    _rebuild(with_rowid=False)


def downgrade():
    _rebuild(with_rowid=True)
