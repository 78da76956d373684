"""All models, imported here so that Alembic and the app see one metadata."""

from app.models.factors import EmissionFactor
from app.models.idempotency import IdempotencyKey
from app.models.ledger import LedgerEntry, LedgerReason
from app.models.records import Record, RecordStatus, Trip
from app.models.users import Account, AuthToken, Consent, User

__all__ = [
    "Account", "AuthToken", "Consent", "EmissionFactor", "IdempotencyKey", "LedgerEntry",
    "LedgerReason", "Record", "RecordStatus", "Trip", "User",
]
