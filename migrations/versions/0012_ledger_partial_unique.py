"""ledger_entries' three unique (record / redemption / sign-up, reason) constraints become unique indexes
over the entries that name one (SQLite and PostgreSQL): an entry names one of them at most, and each
NULL entry cost a page of an index at every commit. MariaDB has no partial index and keeps them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = ('record_id', 'redemption_id', 'signup_id')


def _name(column: str) -> str:
    return f'uq_ledger_entries_{column}_reason'


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect in ('mysql', 'mariadb'):
        return
    # A SQLite table constraint goes only with its table: batch mode copies the ledger into a new one.
    batch = {'recreate': 'always'} if dialect == 'sqlite' else {}
    with op.batch_alter_table('ledger_entries', **batch) as batch_op:
        for column in COLUMNS:
            batch_op.drop_constraint(_name(column), type_='unique')
    for column in COLUMNS:
        where = sa.text(f'{column} IS NOT NULL')
        op.create_index(_name(column), 'ledger_entries', [column, 'reason'], unique=True,
                        sqlite_where=where, postgresql_where=where)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect in ('mysql', 'mariadb'):
        return
    for column in COLUMNS:
        op.drop_index(_name(column), table_name='ledger_entries')
    batch = {'recreate': 'always'} if dialect == 'sqlite' else {}
    with op.batch_alter_table('ledger_entries', **batch) as batch_op:
        for column in COLUMNS:
            batch_op.create_unique_constraint(_name(column), [column, 'reason'])
