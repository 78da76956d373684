"""Core schema: users, consents, tokens, accounts, factor catalog, records, trips, ledger, idempotency keys.

Money-like columns are integers in minor units (hundredths of a gram, tenths of a point, ten-thousandths
of a gram per unit for factors); times are UTC, with microseconds on MariaDB. Loads factor catalog v1.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 15:44:43.195728

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# The seed paper's Table 2, as factor version 1: (kind, subtype, grams per unit × 10^4, unit).
SEED_SOURCE = "闫婕《“双碳”目标下个人碳账户微信小程序平台构建》表2"
SEED_FACTORS = [
    ("travel", "bike", 480000, "km"),
    ("travel", "bus", 269200, "km"),
    ("travel", "subway", 468000, "km"),
    ("sorting", "kitchen", 680000, "time"),
    ("recycling", "textile", 36000000, "kg"),
    ("recycling", "paper", 54200000, "kg"),
    ("bedtime", "", 776000, "hour"),
    ("meal", "", 960000, "serving"),
]


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('emission_factors',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subtype', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('grams_per_unit', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('valid_from', UTC_DATETIME, nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emission_factors')),
    sa.UniqueConstraint('kind', 'subtype', 'version', name=op.f('uq_emission_factors_kind_subtype_version'))
    )
    with op.batch_alter_table('emission_factors', schema=None) as batch_op:
        batch_op.create_index('ix_emission_factors_lookup', ['kind', 'subtype', 'valid_from'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=True),
    sa.Column('unionid', sa.String(length=64), nullable=True),
    sa.Column('session_key', sa.String(length=64), nullable=True),
    sa.Column('nickname', sa.String(length=64), nullable=True),
    sa.Column('avatar_url', sa.String(length=512), nullable=True),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('privacy_version', sa.String(length=32), nullable=False),
    sa.Column('consented_at', UTC_DATETIME, nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('deleted_at', UTC_DATETIME, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('openid', name=op.f('uq_users_openid'))
    )
    op.create_table('accounts',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('balance_points', sa.BigInteger(), nullable=False),
    sa.Column('earned_points_total', sa.BigInteger(), nullable=False),
    sa.Column('spent_points_total', sa.BigInteger(), nullable=False),
    sa.Column('co2_g_total', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('balance_points >= 0', name=op.f('ck_accounts_balance_not_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_accounts_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_accounts'))
    )
    op.create_table('auth_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('expires_at', UTC_DATETIME, nullable=False),
    sa.Column('revoked_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_auth_tokens_token_hash'))
    )
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('consents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('consented_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consents_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_user_id'), ['user_id'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('claimed_at', UTC_DATETIME, nullable=False),
    sa.Column('expires_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_keys_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_idempotency_keys_user_id_key'))
    )
    op.create_table('records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subtype', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('co2_g', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('factor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dedup_key', sa.String(length=64), nullable=True),
    sa.Column('data', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('reject_reason', sa.String(length=255), nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('decided_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['factor_id'], ['emission_factors.id'], name=op.f('fk_records_factor_id_emission_factors')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_records')),
    sa.UniqueConstraint('user_id', 'dedup_key', name=op.f('uq_records_user_id_dedup_key'))
    )
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_user_kind_day', ['user_id', 'kind', 'day'], unique=False)
        batch_op.create_index('ix_records_user_newest', ['user_id', 'id'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('redemption_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_ledger_entries_record_id_records')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ledger_entries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('record_id', 'reason', name=op.f('uq_ledger_entries_record_id_reason'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_user_newest', ['user_id', 'id'], unique=False)

    op.create_table('trips',
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('distance_km', sa.BigInteger(), nullable=False),
    sa.Column('started_at', UTC_DATETIME, nullable=False),
    sa.Column('ended_at', UTC_DATETIME, nullable=False),
    sa.Column('point_count', sa.Integer(), nullable=False),
    sa.Column('track', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('shape', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('start_cell', sa.String(length=32), nullable=False),
    sa.Column('end_cell', sa.String(length=32), nullable=False),
    sa.Column('track_digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_trips_record_id_records')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trips_user_id_users')),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_trips')),
    sa.UniqueConstraint('track_digest', name=op.f('uq_trips_track_digest'))
    )
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.create_index('ix_trips_start_cell', ['start_cell'], unique=False)
        batch_op.create_index('ix_trips_user_started', ['user_id', 'started_at'], unique=False)

    factors = sa.table("emission_factors", sa.column("kind"), sa.column("subtype"), sa.column("version"),
                       sa.column("grams_per_unit"), sa.column("unit"), sa.column("valid_from"),
                       sa.column("source"), sa.column("created_at"))
    epoch = datetime(2020, 1, 1)  # naive UTC, as the app stores times; v1 applies to all records
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(factors, [
        {"kind": kind, "subtype": subtype, "version": 1, "grams_per_unit": grams, "unit": unit,
         "valid_from": epoch, "source": SEED_SOURCE, "created_at": now}
        for kind, subtype, grams, unit in SEED_FACTORS
    ])


def downgrade():
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.drop_index('ix_trips_user_started')
        batch_op.drop_index('ix_trips_start_cell')

    op.drop_table('trips')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_user_newest')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_user_newest')
        batch_op.drop_index('ix_records_user_kind_day')

    op.drop_table('records')
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_user_id'))

    op.drop_table('consents')
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_tokens_user_id'))

    op.drop_table('auth_tokens')
    op.drop_table('accounts')
    op.drop_table('users')
    with op.batch_alter_table('emission_factors', schema=None) as batch_op:
        batch_op.drop_index('ix_emission_factors_lookup')

    op.drop_table('emission_factors')
