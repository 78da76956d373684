"""Photo evidence (照片凭证) and the perceptual-hash index that finds copies of it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import BigId, UTCDateTime, utcnow


class Photo(db.Model):
    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("records.id"), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # A random name the user never chooses; null once the file is erased (retention, account deletion).
    storage_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    byte_size: Mapped[int] = mapped_column(sa.Integer)
    # SHA-256 of the uploaded bytes: the database refuses the same file twice, even in a race.
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    signature: Mapped[str] = mapped_column(sa.Text)
    suspected_original_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id"))
    suspected_distance: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    record = relationship("Record", back_populates="photo")
    hashes: Mapped[list[PhotoHash]] = relationship(back_populates="photo", cascade="all, delete-orphan")


class PhotoHash(db.Model):
    """One 64-bit perceptual hash of a photo, split into 21/21/22-bit bands for multi-index lookup.

    Any stored hash within distance 8 of a query shares a band within distance 2 with it (pigeonhole),
    so a lookup probes each band's radius-2 ball through an index instead of scanning every hash.
    """

    __tablename__ = "photo_hashes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id"))
    hash: Mapped[int] = mapped_column(sa.BigInteger)  # the unsigned 64-bit hash, stored as signed
    band0: Mapped[int] = mapped_column(sa.Integer)
    band1: Mapped[int] = mapped_column(sa.Integer)
    band2: Mapped[int] = mapped_column(sa.Integer)

    photo: Mapped[Photo] = relationship(back_populates="hashes")

    __table_args__ = (
        # Covering indexes: a probe reads (band, hash, photo_id) from the index alone.
        sa.Index("ix_photo_hashes_band0", "band0", "hash", "photo_id"),
        sa.Index("ix_photo_hashes_band1", "band1", "hash", "photo_id"),
        sa.Index("ix_photo_hashes_band2", "band2", "hash", "photo_id"),
        sa.Index("ix_photo_hashes_photo_id", "photo_id"),
    )


class Mutex(db.Model):
    """Named rows locked FOR UPDATE to serialise a short critical section across app servers
    (the photo duplicate check and insert); SQLite's BEGIN IMMEDIATE serialises it already."""

    __tablename__ = "mutexes"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
