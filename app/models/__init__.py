"""All models, imported here so that Alembic and the app see one metadata."""

from app.models.activities import Activity, ActivitySignup
from app.models.appeals import Appeal, AppealStatus, TripRefusal  # noqa: F401
from app.models.content import Article, Tip
from app.models.factors import EmissionFactor
from app.models.idempotency import IdempotencyKey
from app.models.ledger import LedgerEntry, LedgerReason
from app.models.partners import Partner, PartnerBinding, PartnerEvent, PartnerNonce  # noqa: F401
from app.models.photos import Mutex, Photo, PhotoHash
from app.models.records import Record, RecordStatus, Trip
from app.models.rewards import Redemption, RedemptionStatus, Reward
from app.models.social import FriendInvite, Friendship, PeriodPoints
from app.models.staff import AuditEntry, LoginAttempt, Staff, StaffRole, StaffSession
from app.models.users import Account, AuthToken, Consent, User

__all__ = [
    "Activity", "ActivitySignup", "Article", "FriendInvite", "Friendship", "PeriodPoints", "Redemption",
    "RedemptionStatus", "Reward", "Tip",
    "Account", "AuditEntry", "AuthToken", "Consent", "EmissionFactor", "IdempotencyKey", "LedgerEntry",
    "LedgerReason", "LoginAttempt", "Mutex", "Photo", "PhotoHash", "Record", "RecordStatus", "Staff",
    "StaffRole", "StaffSession", "Trip", "User",
]
