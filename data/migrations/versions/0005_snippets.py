"""snippets: standaardantwoorden (canned replies) per team

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "snippet",
        sa.Column("id", Id, nullable=False),
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", Id, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["coach.id"], name=op.f("fk_snippet_created_by_coach")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snippet")),
    )
    with op.batch_alter_table("snippet", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_snippet_team"), ["team"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("snippet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snippet_team"))
    op.drop_table("snippet")
