"""Realistic GPS tracks for tests: city streets with turns, lights, stops, correlated GPS noise, exact length.

Every track is deterministic for its seed and comes in the JSON shape `POST /api/v1/trips` takes:
`[{"lat": float, "lng": float, "t": "<ISO 8601 with +08:00>"}, ...]`.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

EARTH_RADIUS_M = 6_371_008.8
PEOPLES_SQUARE = (31.2304, 121.4737)  # Shanghai, where every route starts unless told otherwise
SHANGHAI = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)

# Phone receivers wander slowly rather than jumping fix to fix: AR(1) noise, ~4 m per axis,
# correlation 0.9 between fixes 4 s apart (a time constant of about 40 s).
GPS_SIGMA_M = 4.0
GPS_RHO_PER_4S = 0.9


@dataclass(frozen=True)
class Motion:
    """How a vehicle moves through the city."""

    cruise_kmh: tuple[float, float]
    accel: float  # m/s²
    decel: float  # m/s²
    turn_kmh: float | None  # speed taken through a 90° turn
    leg_m: tuple[float, float]  # street lengths between turns
    turn_deg: tuple[float, ...]  # the turns a route takes (signed; Shanghai streets are not all a grid)
    light_prob: float  # chance of a red light at a corner or mid-street light
    light_wait_s: tuple[float, float]
    stop_every_m: tuple[float, float] | None  # bus stops / metro stations
    dwell_s: tuple[float, float]


MOTIONS = {
    "bike": Motion((13, 20), 0.6, 1.2, 10, (250, 900), (90, -90, 90, -90, 35, -25), 0.45, (15, 60),
                   None, (0, 0)),
    "bus": Motion((25, 42), 0.9, 1.2, 15, (300, 1200), (90, -90, 90, -90, 30, -30), 0.4, (20, 60),
                  (450, 800), (15, 40)),
    "subway": Motion((62, 80), 1.0, 1.0, None, (700, 2500), (25, -20, 15, -30, 10), 0.0, (0, 0),
                     (1200, 2200), (30, 45)),
}


def destination(lat: float, lng: float, bearing_deg: float, dist_m: float) -> tuple[float, float]:
    """The point `dist_m` along the great circle leaving (lat, lng) at `bearing_deg`."""
    phi1, lam1, theta = math.radians(lat), math.radians(lng), math.radians(bearing_deg)
    delta = dist_m / EARTH_RADIUS_M
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    lam2 = lam1 + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi1),
                             math.cos(delta) - math.sin(phi1) * math.sin(phi2))
    return math.degrees(phi2), math.degrees(lam2)


@dataclass(frozen=True)
class Route:
    """Great-circle legs joined at corners; its length is exact by construction."""

    starts: tuple[tuple[float, float], ...]
    bearings: tuple[float, ...]
    lengths: tuple[float, ...]

    @property
    def length_m(self) -> float:
        return sum(self.lengths)

    @property
    def corners_m(self) -> list[float]:
        return [sum(self.lengths[:i]) for i in range(1, len(self.lengths))]

    @property
    def vertices(self) -> list[tuple[float, float]]:
        lat, lng = self.starts[-1]
        return [*self.starts, destination(lat, lng, self.bearings[-1], self.lengths[-1])]

    def point_at(self, s: float) -> tuple[float, float]:
        s = min(max(s, 0.0), self.length_m)
        for (lat, lng), bearing, length in zip(self.starts, self.bearings, self.lengths, strict=True):
            if s <= length:
                return destination(lat, lng, bearing, s)
            s -= length
        lat, lng = self.starts[-1]
        return destination(lat, lng, self.bearings[-1], self.lengths[-1])


def city_route(km: float, seed: int, mode: str = "bike", origin: tuple[float, float] = PEOPLES_SQUARE,
               straight: bool = False) -> Route:
    """A route of exactly `km` through streets with turns (or one straight line)."""
    rng, motion = random.Random(f"route-{mode}-{seed}"), MOTIONS[mode]
    total, bearing = km * 1000.0, rng.uniform(0, 360)
    if straight:
        return Route((origin,), (bearing,), (total,))
    starts, bearings, lengths, point = [], [], [], origin
    while sum(lengths) < total:
        length = min(rng.uniform(*motion.leg_m), total - sum(lengths))
        starts.append(point)
        bearings.append(bearing)
        lengths.append(length)
        point = destination(*point, bearing, length)
        bearing = (bearing + rng.choice(motion.turn_deg)) % 360
    return Route(tuple(starts), tuple(bearings), tuple(lengths))


@dataclass(frozen=True)
class _Event:
    s: float
    cap: float  # m/s allowed when passing; 0 = stop
    dwell: float


def _events(route: Route, motion: Motion, rng: random.Random, stops: bool,
            cruise: float) -> list[_Event]:
    events = []
    corners = route.corners_m
    for s in corners:
        if motion.turn_kmh is not None:
            events.append(_Event(s, min(motion.turn_kmh / 3.6, cruise), 0.0))
    if stops:
        lights = corners + [rng.uniform(100, route.length_m - 100) for _ in range(int(route.length_m / 1500))]
        for s in lights:
            if rng.random() < motion.light_prob:
                events.append(_Event(s, 0.0, rng.uniform(*motion.light_wait_s)))
        if motion.stop_every_m:
            s = rng.uniform(*motion.stop_every_m)
            while s < route.length_m - 200:
                events.append(_Event(s, 0.0, rng.uniform(*motion.dwell_s)))
                s += rng.uniform(*motion.stop_every_m)
    events.append(_Event(route.length_m, 0.0, 0.0))
    events.sort(key=lambda e: e.s)
    return events


@dataclass(frozen=True)
class Ride:
    """Distance along the route as a function of time, plus when the vehicle stood at a stop."""

    times: list[float]
    distances: list[float]
    dwells: list[tuple[float, float]]  # (from_s, to_s) seconds since start, standing at a stop

    @property
    def duration_s(self) -> float:
        return self.times[-1]

    def distance_at(self, t: float) -> float:
        if t >= self.times[-1]:
            return self.distances[-1]
        i = bisect.bisect_right(self.times, t)
        t0, t1, s0, s1 = self.times[i - 1], self.times[i], self.distances[i - 1], self.distances[i]
        return s0 if t1 == t0 else s0 + (s1 - s0) * (t - t0) / (t1 - t0)


def simulate_ride(route: Route, mode: str, seed: int, cruise_kmh: float | None = None,
                  stops: bool = True) -> Ride:
    """Drive the route: accelerate, cruise at a wandering speed, brake for turns and stops, wait."""
    rng, motion, dt = random.Random(f"ride-{mode}-{seed}"), MOTIONS[mode], 0.5
    lo, hi = (cruise_kmh * 0.95, cruise_kmh * 1.05) if cruise_kmh else motion.cruise_kmh
    target = rng.uniform(lo, hi) / 3.6
    events = _events(route, motion, rng, stops, hi / 3.6)
    t = s = v = 0.0
    times, distances, dwells, k = [0.0], [0.0], [], 0
    while k < len(events):
        target = min(max(target + rng.gauss(0, 0.04), lo / 3.6), hi / 3.6)
        event = events[k]
        if event.cap == 0 and s + max(v, 0.3) * dt >= event.s:
            t += (event.s - s) / max(v, 0.3)
            s, v = event.s, 0.0
            times.append(t)
            distances.append(s)
            if event.dwell:
                dwells.append((t, t + event.dwell))
                t += event.dwell
                times.append(t)
                distances.append(s)
            k += 1
            continue
        allowed = target
        for ahead in events[k:]:
            if ahead.s - s > 400:
                break
            allowed = min(allowed, math.sqrt(ahead.cap ** 2 + 2 * motion.decel * (ahead.s - s)))
        v = max(min(v + motion.accel * dt, allowed), 0.3)
        s += v * dt
        t += dt
        times.append(t)
        distances.append(s)
        while k < len(events) and events[k].cap > 0 and events[k].s <= s:
            k += 1
    return Ride(times, distances, dwells)


def _sample_times(duration_s: float, rng: random.Random, interval_s: float | None) -> list[float]:
    # A mini program samples on a timer; the last fix is the first tick after arrival.
    times, t = [0.0], 0.0
    while t < duration_s:
        t += interval_s if interval_s else round(rng.uniform(3.0, 5.0), 3)
        times.append(t)
    return times


def _subway_visible(ride: Ride, times: list[float], route_m: float) -> list[float]:
    """Underground there is no GPS: keep fixes while standing at the first and last station, one
    network fix per intermediate station dwell, and every fix on the elevated stretch (40–70 % along)."""
    elevated = (route_m * 0.4, route_m * 0.7)
    keep = []
    for t in times:
        s = ride.distance_at(t)
        if t <= 25 or t >= ride.duration_s - 20 or elevated[0] <= s <= elevated[1]:
            keep.append(t)
    for start, end in ride.dwells:
        keep.append((start + end) / 2)
    return sorted(set(keep))


def realistic_track(mode: str = "bike", km: float = 5.0, start: datetime = DEFAULT_START, seed: int = 1,
                    interval_s: float | None = None, *, route_seed: int | None = None,
                    cruise_kmh: float | None = None, stops: bool = True, noise_m: float = GPS_SIGMA_M,
                    straight: bool = False) -> list[dict]:
    """A ride of exactly `km` along a city route, as the mini program would upload it.

    `seed` drives the ride (speeds, lights, noise, sampling); `route_seed` (default `seed`) the streets,
    so two seeds on one route_seed are the same commute on two days.
    """
    route = city_route(km, seed if route_seed is None else route_seed, mode, straight=straight)
    ride = simulate_ride(route, mode, seed, cruise_kmh, stops)
    if mode == "subway":
        # Riders stand on the platform a while before the train leaves and after it arrives.
        ride = _padded(ride, before_s=25.0, after_s=20.0)
    rng = random.Random(f"fixes-{mode}-{seed}")
    times = _sample_times(ride.duration_s, rng, interval_s)
    if mode == "subway":
        times = _subway_visible(ride, times, route.length_m)
    return _observe(route, ride, times, start, rng, noise_m)


def _padded(ride: Ride, before_s: float, after_s: float) -> Ride:
    times = [0.0, *(t + before_s for t in ride.times), ride.times[-1] + before_s + after_s]
    distances = [0.0, *ride.distances, ride.distances[-1]]
    return Ride(times, distances, [(a + before_s, b + before_s) for a, b in ride.dwells])


def _observe(route: Route, ride: Ride, times: list[float], start: datetime, rng: random.Random,
             noise_m: float) -> list[dict]:
    east = north = 0.0
    if noise_m:
        east, north = rng.gauss(0, noise_m), rng.gauss(0, noise_m)
    track, previous = [], 0.0
    for t in times:
        if noise_m:
            rho = GPS_RHO_PER_4S ** ((t - previous) / 4.0)
            spread = noise_m * math.sqrt(1 - rho * rho)
            east, north = rho * east + rng.gauss(0, spread), rho * north + rng.gauss(0, spread)
        previous = t
        lat, lng = route.point_at(ride.distance_at(t))
        track.append(_fix(*offset(lat, lng, east, north), start + timedelta(seconds=t)))
    return track


def offset(lat: float, lng: float, east_m: float, north_m: float) -> tuple[float, float]:
    """Move a point by a few metres east and north (small offsets: flat approximation is exact enough)."""
    return (lat + math.degrees(north_m / EARTH_RADIUS_M),
            lng + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat)))))


def _fix(lat: float, lng: float, t: datetime) -> dict:
    return {"lat": lat, "lng": lng, "t": t.isoformat(timespec="milliseconds")}


def synthetic_track(km: float = 5.0, speed_kmh: float = 18.0, start: datetime = DEFAULT_START,
                    interval_s: float = 5.0, seed: int = 1, straight: bool = False) -> list[dict]:
    """What a cheat's script makes: points interpolated along a route at one constant speed, no noise."""
    route = city_route(km, seed, "bike", straight=straight)
    step = speed_kmh / 3.6 * interval_s
    count = math.ceil(route.length_m / step)
    return [_fix(*route.point_at(i * step), start + timedelta(seconds=i * interval_s))
            for i in range(count + 1)]


def parse_t(fix: dict) -> datetime:
    return datetime.fromisoformat(fix["t"])


def shifted(track: list[dict], **delta: float) -> list[dict]:
    """The same fixes, every time moved by `timedelta(**delta)` (a replay on another day)."""
    return [{**fix, "t": (parse_t(fix) + timedelta(**delta)).isoformat(timespec="milliseconds")}
            for fix in track]


def jittered(track: list[dict], metres: float, seed: int = 7) -> list[dict]:
    """Every fix moved independently by up to ±`metres` east and north (a replay disguised by noise)."""
    rng = random.Random(seed)
    moved = []
    for fix in track:
        lat, lng = offset(fix["lat"], fix["lng"], rng.uniform(-metres, metres), rng.uniform(-metres, metres))
        moved.append({**fix, "lat": lat, "lng": lng})
    return moved


def with_fixes(track: list[dict], index: int, **changes: object) -> list[dict]:
    """A copy of the track with one fix changed."""
    return [{**fix, **changes} if i == index else fix for i, fix in enumerate(track)]


def standing_track(minutes: float = 10.0, start: datetime = DEFAULT_START, seed: int = 1,
                   interval_s: float = 5.0) -> list[dict]:
    """A phone lying still: only the receiver's wander moves the fixes."""
    ride = Ride([0.0, minutes * 60], [0.0, 0.0], [])
    rng = random.Random(f"standing-{seed}")
    return _observe(city_route(1, seed), ride, _sample_times(minutes * 60, rng, interval_s), start, rng,
                    GPS_SIGMA_M)


def sped_up(track: list[dict], first: int, last: int, factor: float) -> list[dict]:
    """Fixes first..last passed `factor` times faster (a stretch in a car), later fixes moved earlier."""
    times = [parse_t(fix) for fix in track]
    out, saved = [], timedelta(0)
    for i, fix in enumerate(track):
        if first < i <= last:
            saved += (times[i] - times[i - 1]) * (1 - 1 / factor)
        out.append({**fix, "t": (times[i] - saved).isoformat(timespec="milliseconds")})
    return out


def moved_from(track: list[dict], index: int, east_m: float, north_m: float = 0.0) -> list[dict]:
    """Every fix from `index` on moved by the same offset (a jump that never comes back)."""
    moved = []
    for i, fix in enumerate(track):
        if i >= index:
            lat, lng = offset(fix["lat"], fix["lng"], east_m, north_m)
            fix = {**fix, "lat": lat, "lng": lng}
        moved.append(fix)
    return moved


def without_between(track: list[dict], from_s: float, to_s: float) -> list[dict]:
    """The track with no fixes between `from_s` and `to_s` seconds after its start (signal lost)."""
    t0 = parse_t(track[0])
    return [fix for fix in track if not from_s < (parse_t(fix) - t0).total_seconds() < to_s]
