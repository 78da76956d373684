"""The leaderboards' histogram: how many users' totals of a period fall in each band of points, so
"my rank" sums a few hundred bands instead of counting everyone ahead; filled from period_points.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 21:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def band_floor(tenths):
    """The band's lowest total, in tenths, as the app's leaderboard.band_of draws the bands: exact
    below 1,000 tenths (100 points), then three significant figures (kept here, as migrations do not
    import the app)."""
    whens = []
    for digits in range(4, 20):
        whens.append((tenths < sa.literal_column(str(10 ** digits)),
                      tenths - tenths % sa.literal_column(str(10 ** (digits - 3)))))
    return sa.case((tenths < sa.literal_column("1000"), tenths), *whens, else_=tenths)


def upgrade():
    buckets = op.create_table('period_points_buckets',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('points_from', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('users', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('period', 'period_start', 'points_from', name=op.f('pk_period_points_buckets')),
    sqlite_with_rowid=False
    )
    totals = sa.table('period_points', sa.column('period'), sa.column('period_start'),
                      sa.column('points', sa.BigInteger()))
    banded = sa.select(totals.c.period, totals.c.period_start,
                       band_floor(totals.c.points).label('points_from')).subquery()
    op.execute(buckets.insert().from_select(
        ['period', 'period_start', 'points_from', 'users'],
        sa.select(banded.c.period, banded.c.period_start, banded.c.points_from, sa.func.count())
        .group_by(banded.c.period, banded.c.period_start, banded.c.points_from)))


def downgrade():
    op.drop_table('period_points_buckets')
