"""The partner API's request and response shapes (they are also its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from app.api.schemas import Explanation, Grams, Number, Points, Request, Response
from app.services import partners

_EVENT_ID = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]{1,64}$",
                  description="your own id of the event: sending it again (a retry) credits nothing more and "
                              "answers as the first time")
_BINDING_ID = Field(min_length=1, max_length=64, description="the binding id the user's mini program gave you")
_OCCURRED_AT = Field(description="ISO 8601 with offset; not in the future, at most 7 days old")


class RoutePoint(Request):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class TravelEvent(Request):
    """A ride: kept as the user's trip, and it replaces a GPS trip of theirs overlapping it in time."""

    event_id: str = _EVENT_ID
    binding_id: str = _BINDING_ID
    kind: Literal["travel"]
    subtype: Literal["bike", "bus", "subway"]
    distance_km: Number = Field(description=f"0 < d ≤ {partners.MAX_DISTANCE_KM}, at most 3 decimals")
    started_at: datetime = _OCCURRED_AT
    ended_at: datetime = Field(description="after started_at")
    route: list[RoutePoint] | None = Field(None, min_length=2, max_length=partners.MAX_ROUTE_POINTS,
                                           description="optional; kept for disputes like a GPS track")


class RecyclingEvent(Request):
    event_id: str = _EVENT_ID
    binding_id: str = _BINDING_ID
    kind: Literal["recycling"]
    subtype: Literal["textile", "paper"]
    weight_kg: Number = Field(description="0 < w ≤ 50, at most 3 decimals")
    occurred_at: datetime = _OCCURRED_AT


class SortingEvent(Request):
    event_id: str = _EVENT_ID
    binding_id: str = _BINDING_ID
    kind: Literal["sorting"]
    subtype: Literal["kitchen"]
    count: int = Field(ge=1, le=partners.MAX_SORTING_COUNT, description="times sorted (daily cap applies)")
    occurred_at: datetime = _OCCURRED_AT


class MealEvent(Request):
    event_id: str = _EVENT_ID
    binding_id: str = _BINDING_ID
    kind: Literal["meal"]
    subtype: None = None
    meal: Literal["breakfast", "lunch", "dinner"]
    occurred_at: datetime = _OCCURRED_AT


PartnerEventIn = Annotated[TravelEvent | RecyclingEvent | SortingEvent | MealEvent, Field(discriminator="kind")]
EVENT_ADAPTER = TypeAdapter(PartnerEventIn)


class CreditOut(Response):
    id: int = Field(description="the user's record")
    status: Literal["credited"]
    quantity: Number = Field(description="credited amount, in unit (less than reported when a daily cap applied)")
    unit: str
    co2_g: Grams
    points: Points
    verified: bool
    source: str = Field(description='"partner:<your partner id>"')
    factor: dict = Field(description="grams_per_unit, unit and version of the factor used")
    daily_cap_applied: bool
    explanation: Explanation = Field(description="why these grams, as the user sees it in the mini program")


class EventOut(Response):
    """An accepted event. The same answer comes back for every copy of it (header Idempotent-Replayed)."""

    id: int
    event_id: str
    status: Literal["accepted"]
    kind: str
    subtype: str | None
    binding_id: str
    received_at: datetime
    record: CreditOut
    replaced_user_record: bool | None = Field(None, description="true when it replaced the user's own GPS trip")


class PartnerOut(Response):
    id: int
    name: str
    kinds: list[str]
    status: str


def event_request_body() -> tuple[dict, dict]:
    """(requestBody, component schemas) for the document: the event body is read only after the
    signature over its raw bytes is verified, so it is validated by EVENT_ADAPTER in the view."""
    schema = EVENT_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    return {"required": True, "content": {"application/json": {"schema": schema}}}, components
