"""Data partners (合作方: bike-share, metro, recycling stations, canteens), the users' bindings to them,
the nonces of their signed requests and every event they push, kept for audit."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import BigId, UTCDateTime, utcnow


class PartnerStatus:
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Partner(db.Model):
    """An operator with API credentials. The secret itself is never stored (see services.partners)."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Unique: a refreshed "create" page cannot make a second partner with a second secret.
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # The behaviours this partner may report, e.g. ["travel"] for a metro operator.
    kinds: Mapped[list] = mapped_column(sa.JSON())
    key_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # Per-partner salt of the derived secret; a new salt (rotation) voids the old secret at once.
    secret_salt: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default=PartnerStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PartnerBinding(db.Model):
    """A user's approval that one partner may report their behaviours, under an opaque id (no openid)."""

    __tablename__ = "partner_bindings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner: Mapped[Partner] = relationship()

    __table_args__ = (sa.Index("ix_partner_bindings_user", "user_id", "partner_id"),)


class PartnerNonce(db.Model):
    """A nonce seen in a signed request, kept until its timestamp leaves the replay window.

    The primary key makes a nonce single-use per partner even when two copies of a request race."""

    __tablename__ = "partner_nonces"

    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_partner_nonces_expiry", "partner_id", "expires_at"),)


class PartnerEventStatus:
    ACCEPTED = "accepted"
    REFUSED = "refused"


class PartnerEvent(db.Model):
    """Every request a known partner made, accepted or refused with its reason (audit trail).

    `accepted_event_id` is set on accepted events only: the database refuses a second acceptance of
    one partner event id (one credit, however many copies race), while a refused event may be retried.
    """

    __tablename__ = "partner_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"))
    event_id: Mapped[str | None] = mapped_column(sa.String(64))
    accepted_event_id: Mapped[str | None] = mapped_column(sa.String(64))
    binding_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner_bindings.id"))
    kind: Mapped[str | None] = mapped_column(sa.String(16))
    subtype: Mapped[str | None] = mapped_column(sa.String(16))
    payload: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    # SHA-256 of the canonical JSON of the event: a reused event id with other data is a conflict.
    payload_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    error_code: Mapped[str | None] = mapped_column(sa.String(32))
    error_message: Mapped[str | None] = mapped_column(sa.String(255))
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("records.id"))
    # The GPS record this verified trip replaced, if any.
    superseded_record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("records.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    partner: Mapped[Partner] = relationship()
    binding: Mapped[PartnerBinding | None] = relationship()
    record = relationship("Record", foreign_keys=[record_id])

    __table_args__ = (
        sa.UniqueConstraint("partner_id", "accepted_event_id"),
        sa.Index("ix_partner_events_partner_newest", "partner_id", "id"),
        sa.Index("ix_partner_events_lookup", "partner_id", "event_id"),
    )
