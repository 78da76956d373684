"""period_points keyed by (user, period, start): one user's week, month and year rows sit side by side,
so an earning rewrites one leaf of the key instead of three far apart, and the key finds a user's rows
(ix_period_points_user goes).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def _rekey(columns: list[str], *, drop_user_index: bool) -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    # SQLite cannot alter a primary key: batch mode copies the table into a new one (WITHOUT ROWID kept)
    # and renames it. Elsewhere the key is replaced in place, before the user index goes (MariaDB's
    # foreign key on user_id needs an index that starts with it at every moment) or after it came back.
    batch = {'recreate': 'always', 'table_kwargs': {'sqlite_with_rowid': False}} if sqlite else {}
    with op.batch_alter_table('period_points', **batch) as batch_op:
        if not drop_user_index:
            batch_op.create_index('ix_period_points_user', ['user_id', 'period', 'period_start'], unique=False)
        if not sqlite:
            batch_op.drop_constraint('pk_period_points', type_='primary')
        batch_op.create_primary_key('pk_period_points', columns)
        if drop_user_index:
            batch_op.drop_index('ix_period_points_user')


def upgrade():
    _rekey(['user_id', 'period', 'period_start'], drop_user_index=True)


def downgrade():
    _rekey(['period', 'period_start', 'user_id'], drop_user_index=False)
