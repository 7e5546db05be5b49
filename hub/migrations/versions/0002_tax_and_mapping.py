"""tax on invoice lines, provider totals, connection mappings, held invoices

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organization') as table:
        table.add_column(sa.Column(
            'default_tax', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
            server_default='gst_free',
        ))
    with op.batch_alter_table('invoice') as table:
        table.alter_column(
            'number', existing_type=sqlmodel.sql.sqltypes.AutoString(length=21),
            type_=sqlmodel.sql.sqltypes.AutoString(length=100), existing_nullable=False,
        )
        table.add_column(sa.Column('subtotal', hub.db.Money(2), nullable=True))
        table.add_column(sa.Column('tax', hub.db.Money(2), nullable=True))
    # Invoices made before tax existed were GST-free: their subtotal is their total.
    op.execute("UPDATE invoice SET subtotal = total, tax = '0.00'")
    with op.batch_alter_table('invoice') as table:
        table.alter_column('subtotal', existing_type=hub.db.Money(2), nullable=False)
        table.alter_column('tax', existing_type=hub.db.Money(2), nullable=False)
    with op.batch_alter_table('invoiceline') as table:
        table.add_column(sa.Column(
            'tax', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
            server_default='gst_free',
        ))
        table.add_column(sa.Column(
            'tax_amount', hub.db.Money(2), nullable=False, server_default='0.00',
        ))
    with op.batch_alter_table('synclink') as table:
        table.add_column(sa.Column('last_error_detail', sa.Text(), nullable=True))
        table.add_column(sa.Column(
            'fix_in', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True,
        ))
        table.add_column(sa.Column('remote_subtotal', hub.db.Money(2), nullable=True))
        table.add_column(sa.Column('remote_tax', hub.db.Money(2), nullable=True))
        table.add_column(sa.Column('remote_total', hub.db.Money(2), nullable=True))
    with op.batch_alter_table('batchsync') as table:
        table.add_column(sa.Column('held', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('connectionmapping',
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('loaded_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('changed_at', hub.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('changed_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_user_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.PrimaryKeyConstraint('connection_id')
    )


def downgrade() -> None:
    op.drop_table('connectionmapping')
    with op.batch_alter_table('batchsync') as table:
        table.drop_column('held')
    with op.batch_alter_table('synclink') as table:
        for column in ('remote_total', 'remote_tax', 'remote_subtotal', 'fix_in',
                       'last_error_detail'):
            table.drop_column(column)
    with op.batch_alter_table('invoiceline') as table:
        table.drop_column('tax_amount')
        table.drop_column('tax')
    with op.batch_alter_table('invoice') as table:
        table.drop_column('tax')
        table.drop_column('subtotal')
        table.alter_column(
            'number', existing_type=sqlmodel.sql.sqltypes.AutoString(length=100),
            type_=sqlmodel.sql.sqltypes.AutoString(length=21), existing_nullable=False,
        )
    with op.batch_alter_table('organization') as table:
        table.drop_column('default_tax')
