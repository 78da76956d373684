"""Trips keep their shape's duration, and the replay check looks them up by start cell and duration
(it read every kept shape starting nearby, a number that grew with every trip at a busy station).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 06:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The last sample's time (seconds since the start, [lat, lng, t]) of a stored shape, in tenths.
LAST_SAMPLE_TIME = {
    'sqlite': "json_extract(shape, '$[#-1][2]')",
    'postgresql': "CAST((shape -> -1) ->> 2 AS NUMERIC)",
    'mysql': "JSON_EXTRACT(shape, CONCAT('$[', JSON_LENGTH(shape) - 1, '][2]'))",
}


def upgrade():
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shape_span_ds', sa.Integer(), nullable=True))
    dialect = op.get_bind().dialect.name
    last_time = LAST_SAMPLE_TIME['mysql' if dialect == 'mariadb' else dialect]
    op.execute(f"UPDATE trips SET shape_span_ds = ROUND({last_time} * 10) WHERE shape IS NOT NULL")
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.drop_index('ix_trips_start_cell')
        batch_op.create_index('ix_trips_replay_lookup', ['start_cell', 'shape_span_ds'], unique=False)


def downgrade():
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.drop_index('ix_trips_replay_lookup')
        batch_op.create_index('ix_trips_start_cell', ['start_cell'], unique=False)
        batch_op.drop_column('shape_span_ds')
