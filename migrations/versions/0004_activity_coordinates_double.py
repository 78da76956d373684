"""Activity coordinates in double precision: MariaDB's FLOAT keeps ~6 digits (121.473701 → 121.474, 28 m).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.alter_column("lat", existing_type=sa.Float(), type_=sa.Double(), existing_nullable=False)
        batch_op.alter_column("lng", existing_type=sa.Float(), type_=sa.Double(), existing_nullable=False)


def downgrade():
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.alter_column("lng", existing_type=sa.Double(), type_=sa.Float(), existing_nullable=False)
        batch_op.alter_column("lat", existing_type=sa.Double(), type_=sa.Float(), existing_nullable=False)
