"""All models, imported here so that Alembic and the app see one metadata."""

from app.models.factors import EmissionFactor
from app.models.idempotency import IdempotencyKey
from app.models.ledger import LedgerEntry, LedgerReason
from app.models.photos import Mutex, Photo, PhotoHash
from app.models.records import Record, RecordStatus, Trip
from app.models.staff import AuditEntry, LoginAttempt, Staff, StaffRole, StaffSession
from app.models.users import Account, AuthToken, Consent, User

__all__ = [
    "Account", "AuditEntry", "AuthToken", "Consent", "EmissionFactor", "IdempotencyKey", "LedgerEntry",
    "LedgerReason", "LoginAttempt", "Mutex", "Photo", "PhotoHash", "Record", "RecordStatus", "Staff",
    "StaffRole", "StaffSession", "Trip", "User",
]
