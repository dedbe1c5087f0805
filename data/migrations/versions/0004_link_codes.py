"""link codes: one-time codes that connect a Telegram chat to an existing jongere

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "link_code",
        sa.Column("id", Id, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("jongere_id", Id, nullable=False),
        sa.Column("created_by", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["jongere_id"], ["jongere.id"], name=op.f("fk_link_code_jongere_id_jongere"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["coach.id"], name=op.f("fk_link_code_created_by_coach")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_code")),
        sa.UniqueConstraint("code", name=op.f("uq_link_code_code")),
    )
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_code_jongere_id"), ["jongere_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_code_jongere_id"))
    op.drop_table("link_code")
