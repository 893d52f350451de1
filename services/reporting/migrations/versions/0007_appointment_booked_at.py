"""reporting: the booking instant of an appointment (Customer Care: days to the appointment),
and the indexes the Customer Care view reads appointments by

Revision ID: 0007
Revises: 0006

``booked_at`` comes from ``appointment_booked`` only. Rows projected before this revision kept
the instant of whichever appointment event arrived first (``updated_at``): it is the booking's
where that is certain (still confirmed: only ``appointment_booked`` came; held or no-show with
that instant before the slot: an outcome is recorded after the slot starts). A cancelled
booking's is not certain: it stays unknown, and the booking is left out of the days to the
appointment (the share held and the no-show rate still count it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("appointment_facts", sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        """
        UPDATE appointment_facts SET booked_at = updated_at
        WHERE state = 'confirmed' OR (state IN ('held', 'no_show') AND updated_at < slot_start)
        """
    )
    op.create_index("ix_appointment_facts_slot_start", "appointment_facts", ["slot_start"])
    op.create_index("ix_appointment_facts_sede_slot", "appointment_facts", ["sede", "slot_start"])
    op.create_index("ix_appointment_facts_region_slot", "appointment_facts", ["region", "slot_start"])


def downgrade():
    op.drop_index("ix_appointment_facts_region_slot", table_name="appointment_facts")
    op.drop_index("ix_appointment_facts_sede_slot", table_name="appointment_facts")
    op.drop_index("ix_appointment_facts_slot_start", table_name="appointment_facts")
    op.drop_column("appointment_facts", "booked_at")
