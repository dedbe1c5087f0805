"""content in the database: sociale kaart, FAQ, content version, unanswered questions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:54:56.309474
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "content_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_version")),
    )
    op.create_table(
        "faq_entry",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entry")),
    )
    op.create_table(
        "kaart_entry",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kaart_entry")),
    )
    op.create_table(
        "onbeantwoorde_vraag",
        sa.Column("id", Id, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onbeantwoorde_vraag")),
        sa.UniqueConstraint("key", name=op.f("uq_onbeantwoorde_vraag_key")),
    )
    with op.batch_alter_table("onbeantwoorde_vraag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onbeantwoorde_vraag_last_seen_at"), ["last_seen_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("onbeantwoorde_vraag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onbeantwoorde_vraag_last_seen_at"))
    op.drop_table("onbeantwoorde_vraag")
    op.drop_table("kaart_entry")
    op.drop_table("faq_entry")
    op.drop_table("content_version")
