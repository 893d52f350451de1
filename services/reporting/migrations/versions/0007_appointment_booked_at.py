"""reporting: the booking instant and day of an appointment and the day of its slot (Customer
Care: days to the appointment = slot day − booking day), and the indexes the Customer Care view
reads appointments by

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
    op.add_column("appointment_facts", sa.Column("booked_day", sa.Date(), nullable=True))
    op.add_column("appointment_facts", sa.Column("slot_day", sa.Date(), nullable=True))
    op.execute(
        """
        UPDATE appointment_facts SET booked_at = updated_at
        WHERE state = 'confirmed' OR (state IN ('held', 'no_show') AND updated_at < slot_start)
        """
    )
    op.execute(
        """
        UPDATE appointment_facts
        SET slot_day = (slot_start AT TIME ZONE 'Europe/Rome')::date,
            booked_day = (booked_at AT TIME ZONE 'Europe/Rome')::date
        """
    )
    op.alter_column("appointment_facts", "slot_day", nullable=False)
    op.create_index("ix_appointment_facts_slot_day", "appointment_facts", ["slot_day"])
    op.create_index("ix_appointment_facts_sede_slot_day", "appointment_facts", ["sede", "slot_day"])
    op.create_index("ix_appointment_facts_region_slot_day", "appointment_facts", ["region", "slot_day"])


def downgrade():
    op.drop_index("ix_appointment_facts_region_slot_day", table_name="appointment_facts")
    op.drop_index("ix_appointment_facts_sede_slot_day", table_name="appointment_facts")
    op.drop_index("ix_appointment_facts_slot_day", table_name="appointment_facts")
    for column in ("slot_day", "booked_day", "booked_at"):
        op.drop_column("appointment_facts", column)
