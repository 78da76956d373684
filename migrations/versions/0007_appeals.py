"""Appeals against a rejected record or a refused trip, and the refused trips kept for them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 19:45:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('trip_refusals',
    sa.Column('id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('details', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('distance_km', sa.BigInteger(), nullable=True),
    sa.Column('started_at', UTC_DATETIME, nullable=True),
    sa.Column('ended_at', UTC_DATETIME, nullable=True),
    sa.Column('point_count', sa.Integer(), nullable=False),
    sa.Column('track', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('track_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trip_refusals_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trip_refusals'))
    )
    with op.batch_alter_table('trip_refusals', schema=None) as batch_op:
        batch_op.create_index('ix_trip_refusals_user', ['user_id', 'id'], unique=False)

    op.create_table('appeals',
    sa.Column('id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=False),
    sa.Column('record_id', ID, nullable=True),
    sa.Column('trip_refusal_id', ID, nullable=True),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_decided_by', ID, nullable=True),
    sa.Column('first_reason', sa.String(length=255), nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('decided_at', UTC_DATETIME, nullable=True),
    sa.Column('decided_by', ID, nullable=True),
    sa.Column('outcome_reason', sa.String(length=255), nullable=True),
    sa.Column('granted_record_id', ID, nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_appeals_user_id_users')),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_appeals_record_id_records')),
    sa.ForeignKeyConstraint(['trip_refusal_id'], ['trip_refusals.id'],
                            name=op.f('fk_appeals_trip_refusal_id_trip_refusals')),
    sa.ForeignKeyConstraint(['first_decided_by'], ['staff.id'], name=op.f('fk_appeals_first_decided_by_staff')),
    sa.ForeignKeyConstraint(['decided_by'], ['staff.id'], name=op.f('fk_appeals_decided_by_staff')),
    sa.ForeignKeyConstraint(['granted_record_id'], ['records.id'],
                            name=op.f('fk_appeals_granted_record_id_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('record_id', name=op.f('uq_appeals_record_id')),
    sa.UniqueConstraint('trip_refusal_id', name=op.f('uq_appeals_trip_refusal_id'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_queue', ['status', 'id'], unique=False)
        batch_op.create_index('ix_appeals_user_newest', ['user_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_appeals_user_newest')
        batch_op.drop_index('ix_appeals_queue')

    op.drop_table('appeals')
    with op.batch_alter_table('trip_refusals', schema=None) as batch_op:
        batch_op.drop_index('ix_trip_refusals_user')

    op.drop_table('trip_refusals')
