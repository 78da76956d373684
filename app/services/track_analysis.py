"""Trip tracks (绿色出行轨迹): parse a GPS track, measure it, judge if the mode explains it, spot replays."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from statistics import median

from app.errors import ImplausibleTrip, ValidationFailed

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), the contract's "great-circle, mean Earth radius"
MAX_POINTS = 20_000  # 1 fix/s for 5.5 h: more than any ride, small enough to judge in milliseconds

# Phones' clocks drift and the mini program stamps fixes with the phone's clock.
CLOCK_SKEW = timedelta(minutes=2)
# A trip recorded offline is uploaded the next time the app opens, usually the same evening or the next
# morning; 48 h covers "yesterday" in any time zone, while harvesting old tracks stays impossible.
MAX_AGE = timedelta(hours=48)

# Speeds are judged over stretches of at least this long: on simulated rides the receiver's wander adds
# up to 2.4 km/h to the fastest 20 s stretch of an honest ride (4.4 km/h over 10 s), while a stretch in
# a car longer than ~10 s still shows (52 km/h for 20 s at 60 km/h); shorter ones gain under 100 m.
SPEED_WINDOW_S = 20.0
# A run of fixes this close for this long is the rider standing still (a red light, a bus stop): the
# receiver's wander there is not distance. And a step shorter than MIN_STEP_M is mostly wander too
# (at 1 Hz a bike moves 4 m between fixes, the wander ~1 m), so a fix counts once it is that far from
# the last counted one. Measured on simulated rides with 4 m correlated noise: summing every step, a
# 5 km ride with lights measures 2–6 % long (more at 1 Hz); with both rules within ±1 % at 1–5 s.
STOP_RADIUS_M = 12.0
STOP_MIN_S = 10.0
MIN_STEP_M = 10.0
# A glitch is at most this many fixes lying at least GLITCH_MIN_M beyond where the mode could have
# got to, after which the track comes back (multipath between towers). Smaller excesses are noise on
# a fast rider and are left to the windowed speed check.
GLITCH_MAX_FIXES = 3
GLITCH_MIN_M = 25.0

# Generated tracks (a script interpolating a route) are too regular for a real receiver, whose fixes
# wander by metres. Between fixes a few seconds apart the speed of a real ride varies by ≥ 0.2 m/s
# (median absolute deviation, even for very quiet receivers), and on fixes ≥ 10 s apart (so the
# sampling rate does not matter) most lie ≥ 0.1 m off the line through their neighbours; a generated
# line is off by nanometres, or by centimetres once rounded to 6 decimals. Only moving fixes count,
# because phones legitimately repeat one position while standing still. A fixed sampling interval
# alone is normal (the mini program samples on a timer) and is never held against a track.
REGULARITY_MIN_SEGMENTS = 10
REGULARITY_MAX_DT_S = 30.0
MOVING_MIN_SPEED_MS = 1.0
CONSTANT_SPEED_MAD_MS = 0.05
COLLINEAR_SPAN_S = 10.0
COLLINEAR_MIN_STEP_M = 5.0
COLLINEAR_OFFSET_M = 0.1
COLLINEAR_SHARE = 0.75

# Replays: shapes are sampled at equal steps of time, so a copy with ±5–10 m of jitter keeps its
# samples 3–7 m (mean) from the original's; the same route ridden again is 75–475 m off (5–12 km
# rides), because lights and traffic never repeat their timing, and its duration differs.
SAME_ROUTE_MEAN_M = 25.0
SAME_ROUTE_MAX_M = 80.0
SAME_TIMING_MEAN_S = 3.0
# Samples sit at equal fractions of the duration (their times rounded to 0.1 s), so their mean timing
# difference is at least half the difference of the durations, less 0.1 s: a copy's duration is within
# 2 × 3.0 + 0.2 s of its original's, and a lookup by duration needs look no further than this.
REPLAY_SPAN_WINDOW_S = 2 * SAME_TIMING_MEAN_S + 1.0


Shape = list[tuple[float, float, float]]  # (lat, lng, seconds since start), see track_shape


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class TrackPoint:
    lat: float
    lng: float
    t: datetime  # timezone-aware
    # Worked out once per fix, as the distance and time formulas below would each time: a track's
    # checks measure every step several times (~1,400 distances for a 190-fix ride).
    phi: float = field(init=False, repr=False, compare=False)  # latitude in radians
    cos_phi: float = field(init=False, repr=False, compare=False)
    us: int = field(init=False, repr=False, compare=False)  # microseconds since 1970 (exact)

    def __post_init__(self) -> None:
        phi = math.radians(self.lat)
        object.__setattr__(self, "phi", phi)
        object.__setattr__(self, "cos_phi", math.cos(phi))
        object.__setattr__(self, "us", (self.t - _EPOCH) // _MICROSECOND)


@dataclass(frozen=True)
class ModeRules:
    """What one mode of travel can explain. Speeds in km/h, distances as named, times in seconds."""

    max_segment_kmh: float  # fastest speed over any SPEED_WINDOW_S stretch
    max_average_kmh: float  # distance / duration of the whole trip
    min_distance_km: float
    min_points: int
    max_gap_s: float  # longest time between two fixes
    max_jump_m: float  # a single step at least this long and faster than max_segment_kmh is a teleport
    min_duration_s: float


DEFAULT_RULES: dict[str, ModeRules] = {
    # Shared bikes ride 12–20 km/h, e-bikes are limited to 25 km/h; 35 km/h over 10 s leaves room for a
    # fast rider downhill, a 28 km/h average for a racer without lights. Fix gaps: an underpass, a
    # phone throttling the app in the background. 0.3 km is the shortest ride worth crediting (14.4 g).
    "bike": ModeRules(max_segment_kmh=35, max_average_kmh=28, min_distance_km=0.3, min_points=5,
                      max_gap_s=120, max_jump_m=200, min_duration_s=60),
    # City buses are limited to 60–80 km/h (90 leaves room for GPS noise on elevated roads); bus stops
    # are ~500 m apart; tunnels under the Huangpu take 2–3 minutes without a fix.
    "bus": ModeRules(max_segment_kmh=90, max_average_kmh=60, min_distance_km=0.5, min_points=5,
                     max_gap_s=180, max_jump_m=300, min_duration_s=60),
    # Metro trains run 80–120 km/h (Shanghai line 16: 120); stations are ~1 km apart. Underground there
    # is no GPS: fixes come only from station Wi-Fi or cells, so 10 minutes between fixes is normal.
    "subway": ModeRules(max_segment_kmh=130, max_average_kmh=90, min_distance_km=1.0, min_points=5,
                        max_gap_s=600, max_jump_m=500, min_duration_s=60),
}


@dataclass(frozen=True)
class TripSummary:
    started_at: datetime
    ended_at: datetime
    distance_km: Decimal  # the distance to credit: glitches left out, stops not counted as movement
    duration_s: float
    average_kmh: float
    max_segment_kmh: float  # fastest SPEED_WINDOW_S stretch
    point_count: int  # fixes received
    glitches_ignored: int = 0  # fixes left out as GPS glitches (they earn no distance)


def parse_track(raw: object) -> list[TrackPoint]:
    """The request's `track`: a list of {"lat", "lng", "t"}; anything malformed is a ValidationFailed
    naming the field (`track[3].lat`). Other keys a client sends along (accuracy, speed) are ignored."""
    if not isinstance(raw, list):
        raise ValidationFailed(details={"field": "track", "reason": "not_a_list"})
    if len(raw) > MAX_POINTS:
        raise ValidationFailed(details={"field": "track", "reason": "too_many_points",
                                        "max_points": MAX_POINTS, "points": len(raw)})
    return [_parse_point(item, i) for i, item in enumerate(raw)]


def _parse_point(item: object, index: int) -> TrackPoint:
    if not isinstance(item, dict):
        raise ValidationFailed(details={"field": f"track[{index}]", "reason": "not_an_object"})
    lat = _coordinate(item, "lat", 90.0, index)
    lng = _coordinate(item, "lng", 180.0, index)
    return TrackPoint(lat, lng, _aware_time(item, index))


def _coordinate(item: dict, key: str, limit: float, index: int) -> float:
    value = item.get(key)
    # The common case first: a finite float in range. Field names are only made for an error.
    if type(value) is float and -limit <= value <= limit:
        return value
    field = f"track[{index}].{key}"
    if key not in item:
        raise ValidationFailed(details={"field": field, "reason": "missing"})
    value = item[key]
    # bool is an int in Python, and "31.2" is not a number: both are client bugs worth reporting.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationFailed(details={"field": field, "reason": "not_a_number"})
    if not -limit <= value <= limit:
        raise ValidationFailed(details={"field": field, "reason": "out_of_range",
                                        "min": -limit, "max": limit})
    return float(value)


def _aware_time(item: dict, index: int) -> datetime:
    t = _iso_time(item.get("t"))
    if t is not None and t.utcoffset() is not None:
        return t
    field = f"track[{index}].t"  # made only for an error
    if "t" not in item:
        raise ValidationFailed(details={"field": field, "reason": "missing"})
    if t is None:
        raise ValidationFailed(details={"field": field, "reason": "not_iso8601"})
    # Without an offset the instant is unknown: phones in Shanghai and a server in UTC disagree by 8 h.
    raise ValidationFailed(details={"field": field, "reason": "missing_offset"})


def _iso_time(value: object) -> datetime | None:
    """The time an ISO 8601 string (of at most 64 characters) gives, else None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def haversine_m(a: TrackPoint, b: TrackPoint) -> float:
    """Great-circle distance in metres on a sphere of the mean Earth radius."""
    h = (math.sin((b.phi - a.phi) / 2) ** 2
         + a.cos_phi * b.cos_phi * math.sin(math.radians(b.lng - a.lng) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """haversine_m between two places that are not fixes (the same arithmetic, to the last bit)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _haversine_to(lat1: float, lng1: float, b: TrackPoint) -> float:
    """_haversine from a place to a fix."""
    phi1 = math.radians(lat1)
    h = (math.sin((b.phi - phi1) / 2) ** 2
         + math.cos(phi1) * b.cos_phi * math.sin(math.radians(b.lng - lng1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def track_distance_km(points: list[TrackPoint]) -> Decimal:
    """Sum of the great-circle segments between fixes, in km rounded half-up to 3 decimals. Where the
    rider stood still the fixes count as one place, and steps under MIN_STEP_M are joined, so the
    receiver's wander is not paid as distance."""
    path = _fold_stops(points)
    metres, last = 0, path[0]  # summed step by step in the path's order: the same float as summing them after
    for p in path[1:-1]:
        step = haversine_m(last, p)
        if step >= MIN_STEP_M:
            metres += step
            last = p
    if len(path) > 1:  # the ride ends where it ends, even a few metres on
        metres += haversine_m(last, path[-1])
    return (Decimal(metres) / 1000).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _fold_stops(points: list[TrackPoint]) -> list[TrackPoint]:
    """Each stop becomes its centroid twice, at arrival and departure, so distance ignores the wander
    while time along the track stays exact."""
    folded: list[TrackPoint] = []
    stop_ends_at = -1  # len(folded) right after the last stop was added
    i, n = 0, len(points)
    while i < n:
        lat_sum, lng_sum, j = points[i].lat, points[i].lng, i + 1
        while j < n and _haversine_to(lat_sum / (j - i), lng_sum / (j - i), points[j]) <= STOP_RADIUS_M:
            lat_sum, lng_sum, j = lat_sum + points[j].lat, lng_sum + points[j].lng, j + 1
        count = j - i
        if count == 1 or _seconds(points[i], points[j - 1]) < STOP_MIN_S:
            folded.append(points[i])
            i += 1
            continue
        lat, lng = lat_sum / count, lng_sum / count
        last = folded[-1] if stop_ends_at == len(folded) else None
        if last and _haversine(last.lat, last.lng, lat, lng) <= STOP_RADIUS_M:
            # The receiver drifted mid-stop and split one stop in two: still one place.
            folded[-1] = TrackPoint(last.lat, last.lng, points[j - 1].t)
        else:
            folded += [TrackPoint(lat, lng, points[i].t), TrackPoint(lat, lng, points[j - 1].t)]
        stop_ends_at = len(folded)
        i = j
    return folded


def _seconds(a: TrackPoint, b: TrackPoint) -> float:
    return (b.us - a.us) / 1_000_000  # as (b.t - a.t).total_seconds() computes it


def _kmh(a: TrackPoint, b: TrackPoint) -> float:
    dt = _seconds(a, b)
    return math.inf if dt <= 0 else haversine_m(a, b) / dt * 3.6


def check_plausible(mode: str, points: list[TrackPoint], now: datetime,
                    rules: ModeRules | None = None) -> TripSummary:
    """The trip's summary when `mode` explains the track, else ImplausibleTrip with details
    {"reason": ..., and the numbers behind it}. Reasons, checked in this order:

    too_few_points, timestamps_out_of_order (a time not after the one before), timestamp_in_future
    (beyond now + 2 min), too_old (started over 48 h ago), too_short (distance), too_brief (duration),
    gap_too_long (between two fixes), teleport (one step too long and too fast for the mode),
    segment_too_fast (a stretch of ≥ 10 s faster than the mode), average_too_fast,
    synthetic_regularity (details "pattern": "constant_speed" or "straight_line": a generated track).

    Single fixes that leave the track and come straight back (GPS glitches) are ignored, not refused;
    they earn no distance. An unknown mode is a ValidationFailed on "mode".
    """
    if mode not in DEFAULT_RULES:
        raise ValidationFailed(details={"field": "mode", "reason": "unknown_mode",
                                        "allowed": sorted(DEFAULT_RULES)})
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    rules = rules or DEFAULT_RULES[mode]
    _check_times(points, now, rules)
    clean = _without_glitches(points, rules)
    distance_km = track_distance_km(clean)
    duration_s = _seconds(clean[0], clean[-1])
    if distance_km < Decimal(str(rules.min_distance_km)):
        _refuse("too_short", distance_km=str(distance_km), min_distance_km=rules.min_distance_km)
    if duration_s < rules.min_duration_s:
        _refuse("too_brief", duration_s=duration_s, min_duration_s=rules.min_duration_s)
    steps = _Steps(clean)
    _check_steps(steps, rules)
    fastest = _fastest_stretch(clean, steps)
    if fastest.kmh > rules.max_segment_kmh:
        _refuse("segment_too_fast", speed_kmh=round(fastest.kmh, 1), max_segment_kmh=rules.max_segment_kmh,
                at=fastest.at.isoformat(), over_s=round(fastest.over_s, 1))
    average_kmh = float(distance_km) / (duration_s / 3600)
    if average_kmh > rules.max_average_kmh:
        _refuse("average_too_fast", average_kmh=round(average_kmh, 1), max_average_kmh=rules.max_average_kmh)
    _check_regularity(clean, steps)
    return TripSummary(started_at=clean[0].t, ended_at=clean[-1].t, distance_km=distance_km,
                       duration_s=duration_s, average_kmh=average_kmh, max_segment_kmh=fastest.kmh,
                       point_count=len(points), glitches_ignored=len(points) - len(clean))


def _refuse(reason: str, **facts: object) -> None:
    raise ImplausibleTrip(details={"reason": reason, **facts})


def _check_times(points: list[TrackPoint], now: datetime, rules: ModeRules) -> None:
    if len(points) < rules.min_points:
        _refuse("too_few_points", points=len(points), min_points=rules.min_points)
    for i, (a, b) in enumerate(pairwise(points), start=1):
        if b.t <= a.t:
            _refuse("timestamps_out_of_order", index=i, t=b.t.isoformat(), previous_t=a.t.isoformat())
    if points[-1].t > now + CLOCK_SKEW:
        _refuse("timestamp_in_future", ended_at=points[-1].t.isoformat(), now=now.isoformat(),
                tolerance_s=CLOCK_SKEW.total_seconds())
    if points[0].t < now - MAX_AGE:
        _refuse("too_old", started_at=points[0].t.isoformat(), max_age_h=MAX_AGE.total_seconds() / 3600)


def _without_glitches(points: list[TrackPoint], rules: ModeRules) -> list[TrackPoint]:
    """Drop up to GLITCH_MAX_FIXES fixes that jump away faster than the mode and come back: the track
    before and after them is explained without them. A jump that does not come back stays, to be
    judged as a teleport."""
    def flung(a: TrackPoint, b: TrackPoint) -> bool:
        reach_m = rules.max_segment_kmh / 3.6 * _seconds(a, b)
        return haversine_m(a, b) - reach_m >= GLITCH_MIN_M

    # A stale first fix (the phone's last known place) is the commonest glitch of all.
    first = 1 if len(points) > 2 and flung(points[0], points[1]) and not flung(points[1], points[2]) else 0
    kept, i = [points[first]], first + 1
    while i < len(points):
        if flung(kept[-1], points[i]):
            back = next((j for j in range(i + 1, min(i + 1 + GLITCH_MAX_FIXES, len(points)))
                         if not flung(kept[-1], points[j])), None)
            if back is not None:
                i = back
                continue
        kept.append(points[i])
        i += 1
    if len(kept) > 2 and flung(kept[-2], kept[-1]) and not flung(kept[-3], kept[-2]):
        kept.pop()  # a last fix flung away as the app stops recording
    return kept


class _Steps:
    """The length (m) and duration (s) of each step between consecutive fixes, measured once for the
    checks that all walk them."""

    def __init__(self, points: list[TrackPoint]):
        self.metres = [haversine_m(a, b) for a, b in pairwise(points)]
        self.seconds = [_seconds(a, b) for a, b in pairwise(points)]


def _check_steps(steps: _Steps, rules: ModeRules) -> None:
    for i, (metres, gap_s) in enumerate(zip(steps.metres, steps.seconds, strict=True), start=1):
        if gap_s > rules.max_gap_s:
            _refuse("gap_too_long", index=i, gap_s=gap_s, max_gap_s=rules.max_gap_s)
        if metres >= rules.max_jump_m and metres / gap_s * 3.6 > rules.max_segment_kmh:
            _refuse("teleport", index=i, jump_m=round(metres), seconds=gap_s,
                    speed_kmh=round(metres / gap_s * 3.6, 1), max_segment_kmh=rules.max_segment_kmh)


@dataclass(frozen=True)
class _Stretch:
    kmh: float
    at: datetime
    over_s: float


def _fastest_stretch(points: list[TrackPoint], steps: _Steps) -> _Stretch:
    """Fastest path speed over windows of at least SPEED_WINDOW_S (or one longer step)."""
    travelled = [0.0]
    for metres in steps.metres:
        travelled.append(travelled[-1] + metres)
    fastest, j = _Stretch(0.0, points[0].t, 0.0), 0
    for i in range(len(points) - 1):
        j = max(j, i + 1)
        while j < len(points) - 1 and _seconds(points[i], points[j]) < SPEED_WINDOW_S:
            j += 1
        over_s = _seconds(points[i], points[j])
        kmh = (travelled[j] - travelled[i]) / over_s * 3.6
        if kmh > fastest.kmh:
            fastest = _Stretch(kmh, points[i].t, over_s)
    return fastest


def _check_regularity(points: list[TrackPoint], steps: _Steps) -> None:
    speeds = [metres / seconds for metres, seconds in zip(steps.metres, steps.seconds, strict=True)
              if seconds <= REGULARITY_MAX_DT_S]
    moving = [v for v in speeds if v >= MOVING_MIN_SPEED_MS]
    if len(moving) >= REGULARITY_MIN_SEGMENTS:
        middle = median(moving)
        spread = median(abs(v - middle) for v in moving)
        if spread < CONSTANT_SPEED_MAD_MS:
            _refuse("synthetic_regularity", pattern="constant_speed", speed_kmh=round(middle * 3.6, 2),
                    spread_kmh=round(spread * 3.6, 3), segments=len(moving))
    spaced = [points[0]]
    for p in points[1:]:
        if _seconds(spaced[-1], p) >= COLLINEAR_SPAN_S:
            spaced.append(p)
    long_enough = [haversine_m(a, b) >= COLLINEAR_MIN_STEP_M for a, b in pairwise(spaced)]  # each step once
    offsets = [_off_line_m(a, b, c) for k, (a, b, c) in enumerate(zip(spaced, spaced[1:], spaced[2:], strict=False))
               if long_enough[k] and long_enough[k + 1]
               and _seconds(a, c) <= 2 * REGULARITY_MAX_DT_S + 2 * COLLINEAR_SPAN_S]
    if len(offsets) >= REGULARITY_MIN_SEGMENTS:
        share = sum(offset < COLLINEAR_OFFSET_M for offset in offsets) / len(offsets)
        if share >= COLLINEAR_SHARE:
            _refuse("synthetic_regularity", pattern="straight_line", on_line_share=round(share, 3),
                    fixes=len(offsets))


def _off_line_m(a: TrackPoint, b: TrackPoint, c: TrackPoint) -> float:
    """How far b lies from the straight line a–c, on a local flat projection around b (metres)."""
    def flat(p: TrackPoint) -> tuple[float, float]:
        return (math.radians(p.lng - b.lng) * math.cos(math.radians(b.lat)) * EARTH_RADIUS_M,
                math.radians(p.lat - b.lat) * EARTH_RADIUS_M)
    (ax, ay), (cx, cy) = flat(a), flat(c)
    base = math.hypot(cx - ax, cy - ay)
    # Twice the area of the triangle a-b-c (b at the origin) over its base is b's height above a–c.
    return abs(ax * cy - ay * cx) / base if base else math.hypot(ax, ay)


def track_shape(points: list[TrackPoint], samples: int = 32) -> Shape:
    """The ride as `samples` points at equal steps of time: (lat, lng, seconds since start), a compact
    signature to store with the record and compare new tracks against (same_journey).

    Sampled by time, not by length: a copy keeps its timestamps exactly, while its length grows with
    any jitter added to the coordinates, which would shift every length-based sample."""
    if samples < 2 or len(points) < 2:
        raise ValueError("a shape needs at least two samples and two fixes")
    seconds = [_seconds(points[0], p) for p in points]
    shape = []
    for k in range(samples):
        target = seconds[-1] * k / (samples - 1)
        i = min(max(bisect.bisect_left(seconds, target), 1), len(points) - 1)
        a, b = points[i - 1], points[i]
        span = seconds[i] - seconds[i - 1]
        f = (target - seconds[i - 1]) / span if span > 0 else 0.0
        # 6 decimals is 0.1 m: far below what matters, and a compact row to store.
        shape.append((round(a.lat + f * (b.lat - a.lat), 6), round(a.lng + f * (b.lng - a.lng), 6),
                      round(target, 1)))
    return shape


def shape_cells(shape: Shape, cell_m: float = 500) -> tuple[str, str]:
    """Grid keys of the start and the end of a shape, for an indexed lookup of candidate copies.

    Cells are `cell_m` of latitude by `cell_m` of longitude-degree-at-the-equator (narrower east–west
    away from the equator: 430 m in Shanghai), so neighbouring keys are plain index neighbours."""
    return _cell(shape[0], cell_m), _cell(shape[-1], cell_m)


def _cell(sample: tuple[float, float, float], cell_m: float) -> str:
    degrees = math.degrees(cell_m / EARTH_RADIUS_M)
    return f"{cell_m:g}:{math.floor(sample[0] / degrees)}:{math.floor(sample[1] / degrees)}"


def neighbour_cells(cell: str) -> list[str]:
    """The cell and its eight neighbours, so a start jittered across a cell border still matches."""
    size, row, col = cell.split(":")
    return [f"{size}:{int(row) + dr}:{int(col) + dc}" for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


def shape_span_ds(shape: Shape) -> int:
    """The shape's duration (its last sample's time) in tenths of a second, as stored with the trip."""
    return round(shape[-1][2] * 10)


def replay_span_range(shape: Shape) -> tuple[int, int]:
    """The stored durations (tenths of a second) a shape that same_journey matches can have."""
    span, window = shape_span_ds(shape), round(REPLAY_SPAN_WINDOW_S * 10)
    return span - window, span + window


def same_journey(a_shape: Shape, b_shape: Shape) -> bool:
    """True when b is a copy of a: the same route (corresponding samples close) ridden with the same
    timing (seconds since start nearly equal). A replay shifted in time or with jittered coordinates
    keeps both; the same commute ridden on another day keeps the route but never the timing."""
    if len(a_shape) != len(b_shape) or not a_shape:
        return False
    apart = [_haversine(a[0], a[1], b[0], b[1]) for a, b in zip(a_shape, b_shape, strict=True)]
    if sum(apart) / len(apart) >= SAME_ROUTE_MEAN_M or max(apart) >= SAME_ROUTE_MAX_M:
        return False
    timing = sum(abs(a[2] - b[2]) for a, b in zip(a_shape, b_shape, strict=True)) / len(a_shape)
    return timing < SAME_TIMING_MEAN_S
