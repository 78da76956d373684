"""Data partners: credentials, the users' bindings, signed-request nonces and every partner event
kept for audit; records say who reported them (source) and whether an operator saw it (verified).

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-25 18:35:08

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('partners',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('secret_salt', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('suspended_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_partners_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('key_id', name=op.f('uq_partners_key_id')),
    sa.UniqueConstraint('name', name=op.f('uq_partners_name'))
    )
    op.create_table('partner_bindings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('revoked_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_bindings_partner_id_partners')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_partner_bindings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_bindings')),
    sa.UniqueConstraint('public_id', name=op.f('uq_partner_bindings_public_id'))
    )
    with op.batch_alter_table('partner_bindings', schema=None) as batch_op:
        batch_op.create_index('ix_partner_bindings_user', ['user_id', 'partner_id'], unique=False)

    op.create_table('partner_nonces',
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('expires_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_nonces_partner_id_partners')),
    sa.PrimaryKeyConstraint('partner_id', 'nonce', name=op.f('pk_partner_nonces'))
    )
    with op.batch_alter_table('partner_nonces', schema=None) as batch_op:
        batch_op.create_index('ix_partner_nonces_expiry', ['partner_id', 'expires_at'], unique=False)

    op.create_table('partner_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('accepted_event_id', sa.String(length=64), nullable=True),
    sa.Column('binding_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('subtype', sa.String(length=16), nullable=True),
    sa.Column('payload', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('payload_sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('error_message', sa.String(length=255), nullable=True),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('superseded_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['binding_id'], ['partner_bindings.id'],
                            name=op.f('fk_partner_events_binding_id_partner_bindings')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_events_partner_id_partners')),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_partner_events_record_id_records')),
    sa.ForeignKeyConstraint(['superseded_record_id'], ['records.id'],
                            name=op.f('fk_partner_events_superseded_record_id_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_events')),
    sa.UniqueConstraint('partner_id', 'accepted_event_id', name=op.f('uq_partner_events_partner_id_accepted_event_id'))
    )
    with op.batch_alter_table('partner_events', schema=None) as batch_op:
        batch_op.create_index('ix_partner_events_lookup', ['partner_id', 'event_id'], unique=False)
        batch_op.create_index('ix_partner_events_partner_newest', ['partner_id', 'id'], unique=False)

    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=32), server_default='user', nullable=False))
        batch_op.add_column(sa.Column('verified', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_column('verified')
        batch_op.drop_column('source')

    with op.batch_alter_table('partner_events', schema=None) as batch_op:
        batch_op.drop_index('ix_partner_events_partner_newest')
        batch_op.drop_index('ix_partner_events_lookup')

    op.drop_table('partner_events')
    with op.batch_alter_table('partner_nonces', schema=None) as batch_op:
        batch_op.drop_index('ix_partner_nonces_expiry')

    op.drop_table('partner_nonces')
    with op.batch_alter_table('partner_bindings', schema=None) as batch_op:
        batch_op.drop_index('ix_partner_bindings_user')

    op.drop_table('partner_bindings')
    op.drop_table('partners')
