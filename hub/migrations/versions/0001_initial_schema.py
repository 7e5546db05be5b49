"""initial schema

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('organization',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('periodicrun',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', 'period')
    )
    op.create_table('ratelimitslot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_key', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('started_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_expires_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ratelimitslot', schema=None) as batch_op:
        batch_op.create_index('ix_ratelimitslot_account_time', ['account_key', 'started_at'], unique=False)

    op.create_table('webhookdelivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('received_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhookdelivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhookdelivery_integration'), ['integration'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhookdelivery_received_at'), ['received_at'], unique=False)

    op.create_table('apikey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('apikey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apikey_organization_id'), ['organization_id'], unique=False)

    op.create_table('connection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('integration', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('external_account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('external_account_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('access_token_enc', sa.Text(), nullable=True),
    sa.Column('refresh_token_enc', sa.Text(), nullable=True),
    sa.Column('access_expires_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refresh_expires_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('connected_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disconnected_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_refresh_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('support_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('sync_cursor', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'integration')
    )
    with op.batch_alter_table('connection', schema=None) as batch_op:
        batch_op.create_index('ix_connection_account_live', ['integration', 'external_account_id'], unique=True, sqlite_where=sa.text("status != 'disconnected'"), postgresql_where=sa.text("status != 'disconnected'"))
        batch_op.create_index(batch_op.f('ix_connection_organization_id'), ['organization_id'], unique=False)

    op.create_table('invoicebatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('request_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'idempotency_key')
    )
    with op.batch_alter_table('invoicebatch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoicebatch_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoicebatch_organization_id'), ['organization_id'], unique=False)

    op.create_table('participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'external_ref')
    )
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participant_organization_id'), ['organization_id'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('session_epoch', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_organization_id'), ['organization_id'], unique=False)

    op.create_table('activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('integration', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('support_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_organization_id'), ['organization_id'], unique=False)

    op.create_table('batchsync',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('synced', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('pushed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['invoicebatch.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.ForeignKeyConstraint(['pushed_by_user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'connection_id')
    )
    with op.batch_alter_table('batchsync', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batchsync_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batchsync_connection_id'), ['connection_id'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=21), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('memo', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('total', hub.db.Money(2), nullable=False),
    sa.Column('amount_paid', hub.db.Money(2), nullable=False),
    sa.Column('balance', hub.db.Money(2), nullable=False),
    sa.Column('deleted_remotely', sa.Boolean(), nullable=False),
    sa.Column('voided_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['invoicebatch.id'], ),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'number')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_participant_id'), ['participant_id'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('unique_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('rerun', sa.Boolean(), nullable=False),
    sa.Column('lease_expires_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_claim', ['state', 'run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index('ix_job_unique_live', ['unique_key'], unique=True, sqlite_where=sa.text("state IN ('queued', 'running', 'parked')"), postgresql_where=sa.text("state IN ('queued', 'running', 'parked')"))

    op.create_table('oauthstate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('session_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('integration', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('code_verifier', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('redirect_uri', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('state_hash')
    )
    op.create_table('synclink',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('local_key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('remote_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('remote_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('remote_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('remote_updated_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('support_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('pushed_version', sa.Integer(), nullable=True),
    sa.Column('synced_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection_id', 'kind', 'local_key')
    )
    with op.batch_alter_table('synclink', schema=None) as batch_op:
        batch_op.create_index('ix_synclink_remote', ['connection_id', 'kind', 'remote_id'], unique=False)

    op.create_table('webhookevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('integration', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('external_account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('occurred_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', hub.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhookdelivery.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('integration', 'dedupe_key')
    )
    with op.batch_alter_table('webhookevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhookevent_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhookevent_state'), ['state'], unique=False)

    op.create_table('invoiceline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('item_code', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('quantity', hub.db.Money(4), nullable=False),
    sa.Column('unit_price', hub.db.Money(4), nullable=False),
    sa.Column('amount', hub.db.Money(2), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('invoiceline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoiceline_invoice_id'), ['invoice_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('invoiceline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoiceline_invoice_id'))

    op.drop_table('invoiceline')
    with op.batch_alter_table('webhookevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhookevent_state'))
        batch_op.drop_index(batch_op.f('ix_webhookevent_connection_id'))

    op.drop_table('webhookevent')
    with op.batch_alter_table('synclink', schema=None) as batch_op:
        batch_op.drop_index('ix_synclink_remote')

    op.drop_table('synclink')
    op.drop_table('oauthstate')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_unique_live', sqlite_where=sa.text("state IN ('queued', 'running', 'parked')"), postgresql_where=sa.text("state IN ('queued', 'running', 'parked')"))
        batch_op.drop_index(batch_op.f('ix_job_connection_id'))
        batch_op.drop_index('ix_job_claim')

    op.drop_table('job')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_participant_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_organization_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_batch_id'))

    op.drop_table('invoice')
    with op.batch_alter_table('batchsync', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batchsync_connection_id'))
        batch_op.drop_index(batch_op.f('ix_batchsync_batch_id'))

    op.drop_table('batchsync')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_organization_id'))
        batch_op.drop_index(batch_op.f('ix_activity_created_at'))
        batch_op.drop_index(batch_op.f('ix_activity_connection_id'))

    op.drop_table('activity')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_organization_id'))

    op.drop_table('user')
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participant_organization_id'))

    op.drop_table('participant')
    with op.batch_alter_table('invoicebatch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoicebatch_organization_id'))
        batch_op.drop_index(batch_op.f('ix_invoicebatch_created_at'))

    op.drop_table('invoicebatch')
    with op.batch_alter_table('connection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connection_organization_id'))
        batch_op.drop_index('ix_connection_account_live', sqlite_where=sa.text("status != 'disconnected'"), postgresql_where=sa.text("status != 'disconnected'"))

    op.drop_table('connection')
    with op.batch_alter_table('apikey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apikey_organization_id'))

    op.drop_table('apikey')
    with op.batch_alter_table('webhookdelivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhookdelivery_received_at'))
        batch_op.drop_index(batch_op.f('ix_webhookdelivery_integration'))

    op.drop_table('webhookdelivery')
    with op.batch_alter_table('ratelimitslot', schema=None) as batch_op:
        batch_op.drop_index('ix_ratelimitslot_account_time')

    op.drop_table('ratelimitslot')
    op.drop_table('periodicrun')
    op.drop_table('organization')

