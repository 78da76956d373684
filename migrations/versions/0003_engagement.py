"""Engagement: friends and invitations, per-period point totals for leaderboards, rewards and
redemptions, articles and tips, activities and sign-ups; ledger entries may point at a redemption
or an activity sign-up, each credited or debited once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:33:39.421244

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('starts_at', UTC_DATETIME, nullable=False),
    sa.Column('ends_at', UTC_DATETIME, nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('signed_up', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('checkin_code', sa.String(length=16), nullable=False),
    sa.Column('cancelled_at', UTC_DATETIME, nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.CheckConstraint('signed_up >= 0 AND signed_up <= capacity', name=op.f('ck_activities_within_capacity')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_upcoming', ['starts_at'], unique=False)

    op.create_table('rewards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('image_key', sa.String(length=64), nullable=True),
    sa.Column('cost_points', sa.BigInteger(), nullable=False),
    sa.Column('stock_total', sa.Integer(), nullable=False),
    sa.Column('stock_left', sa.Integer(), nullable=False),
    sa.Column('valid_from', UTC_DATETIME, nullable=False),
    sa.Column('valid_until', UTC_DATETIME, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.CheckConstraint('cost_points > 0', name=op.f('ck_rewards_cost_positive')),
    sa.CheckConstraint('stock_left <= stock_total', name=op.f('ck_rewards_stock_within_total')),
    sa.CheckConstraint('stock_left >= 0', name=op.f('ck_rewards_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rewards'))
    )
    op.create_table('tips',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('potential_co2_g', sa.BigInteger(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tips'))
    )
    op.create_table('activity_signups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('cancelled_at', UTC_DATETIME, nullable=True),
    sa.Column('checked_in_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_signups_activity_id_activities')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_activity_signups_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_signups')),
    sa.UniqueConstraint('activity_id', 'user_id', name=op.f('uq_activity_signups_activity_id_user_id'))
    )
    with op.batch_alter_table('activity_signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_signups_user_id'), ['user_id'], unique=False)

    op.create_table('articles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('cover_key', sa.String(length=64), nullable=True),
    sa.Column('markdown', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('publish_at', UTC_DATETIME, nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_articles_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_articles'))
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index('ix_articles_listing', ['status', 'category', 'publish_at'], unique=False)

    op.create_table('friend_invites',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('inviter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('expires_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['inviter_id'], ['users.id'], name=op.f('fk_friend_invites_inviter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_friend_invites')),
    sa.UniqueConstraint('code', name=op.f('uq_friend_invites_code'))
    )
    with op.batch_alter_table('friend_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_friend_invites_inviter_id'), ['inviter_id'], unique=False)

    op.create_table('friendships',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('friend_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['friend_id'], ['users.id'], name=op.f('fk_friendships_friend_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_friendships_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'friend_id', name=op.f('pk_friendships'))
    )
    op.create_table('period_points',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_period_points_user_id_users')),
    sa.PrimaryKeyConstraint('period', 'period_start', 'user_id', name=op.f('pk_period_points'))
    )
    with op.batch_alter_table('period_points', schema=None) as batch_op:
        batch_op.create_index('ix_period_points_board', ['period', 'period_start', 'points', 'user_id'], unique=False)
        batch_op.create_index('ix_period_points_user', ['user_id', 'period', 'period_start'], unique=False)

    op.create_table('redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reward_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('coupon_code', sa.String(length=32), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('cancelled_at', UTC_DATETIME, nullable=True),
    sa.Column('cancelled_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['cancelled_by'], ['staff.id'], name=op.f('fk_redemptions_cancelled_by_staff')),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_redemptions_reward_id_rewards')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_redemptions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('coupon_code', name=op.f('uq_redemptions_coupon_code'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemptions_reward_id'), ['reward_id'], unique=False)
        batch_op.create_index('ix_redemptions_user_newest', ['user_id', 'id'], unique=False)

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signup_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.alter_column('redemption_id',
               existing_type=sa.BIGINT(),
               type_=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
               existing_nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_ledger_entries_redemption_id_reason'), ['redemption_id', 'reason'])
        batch_op.create_unique_constraint(batch_op.f('uq_ledger_entries_signup_id_reason'), ['signup_id', 'reason'])
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entries_signup_id_activity_signups'), 'activity_signups', ['signup_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entries_redemption_id_redemptions'), 'redemptions', ['redemption_id'], ['id'])



def downgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ledger_entries_redemption_id_redemptions'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_ledger_entries_signup_id_activity_signups'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_ledger_entries_signup_id_reason'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_ledger_entries_redemption_id_reason'), type_='unique')
        batch_op.alter_column('redemption_id',
               existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
               type_=sa.BIGINT(),
               existing_nullable=True)
        batch_op.drop_column('signup_id')

    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_user_newest')
        batch_op.drop_index(batch_op.f('ix_redemptions_reward_id'))

    op.drop_table('redemptions')
    with op.batch_alter_table('period_points', schema=None) as batch_op:
        batch_op.drop_index('ix_period_points_user')
        batch_op.drop_index('ix_period_points_board')

    op.drop_table('period_points')
    op.drop_table('friendships')
    with op.batch_alter_table('friend_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_friend_invites_inviter_id'))

    op.drop_table('friend_invites')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_listing')

    op.drop_table('articles')
    with op.batch_alter_table('activity_signups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_signups_user_id'))

    op.drop_table('activity_signups')
    op.drop_table('tips')
    op.drop_table('rewards')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_upcoming')

    op.drop_table('activities')
