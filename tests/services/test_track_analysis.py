"""Trip tracks: what a rider sees when a ride is measured, accepted, refused or recognised as a copy."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.errors import ImplausibleTrip, ValidationFailed
from app.services.track_analysis import (
    DEFAULT_RULES,
    ModeRules,
    TrackPoint,
    check_plausible,
    haversine_m,
    neighbour_cells,
    parse_track,
    replay_span_range,
    same_journey,
    shape_cells,
    shape_span_ds,
    track_distance_km,
    track_shape,
)
from tests.tracks import (
    DEFAULT_START,
    city_route,
    destination,
    jittered,
    moved_from,
    offset,
    realistic_track,
    shifted,
    sped_up,
    standing_track,
    synthetic_track,
    with_fixes,
    without_between,
)

NOW = DEFAULT_START + timedelta(hours=3)  # every ride below starts at DEFAULT_START unless told otherwise
BIKE_GRAMS_PER_KM = Decimal("48")


def judge(mode: str, track: list[dict], now: datetime = NOW, rules: ModeRules | None = None):
    return check_plausible(mode, parse_track(track), now, rules)


def refusal(mode: str, track: list[dict], now: datetime = NOW) -> dict:
    with pytest.raises(ImplausibleTrip) as refused:
        judge(mode, track, now)
    return refused.value.details


def point(lat: float, lng: float, seconds: float = 0.0) -> TrackPoint:
    return TrackPoint(lat, lng, datetime(2025, 6, 2, tzinfo=UTC) + timedelta(seconds=seconds))


def shape_of(track: list[dict]):
    return track_shape(parse_track(track))


def steps_s(track: list[dict]) -> list[float]:
    points = parse_track(track)
    return [(b.t - a.t).total_seconds() for a, b in zip(points, points[1:], strict=False)]


# Distance


def test_one_degree_of_latitude_is_111_195_km_on_the_mean_earth_radius():
    assert haversine_m(point(0, 0), point(1, 0)) == pytest.approx(111_195.080, abs=0.001)
    assert haversine_m(point(31, 121), point(32, 121)) == pytest.approx(111_195.080, abs=0.001)


def test_great_circle_distances_match_points_placed_by_bearing_and_distance():
    for bearing, metres in [(0, 3_000), (45, 812.5), (137, 25_000), (290, 12.0)]:
        there = destination(31.2304, 121.4737, bearing, metres)
        assert haversine_m(point(31.2304, 121.4737), point(*there)) == pytest.approx(metres, abs=0.001)


def test_half_way_round_the_equator_is_pi_times_the_mean_radius():
    assert haversine_m(point(0, 0), point(0, 180)) == pytest.approx(math.pi * 6_371_008.8, abs=0.001)


def test_distance_is_in_km_with_three_decimals():
    assert track_distance_km([point(0, 0), point(1, 0, 3600)]) == Decimal("111.195")
    assert track_distance_km([point(31.2304, 121.4737), point(31.2397, 121.4998, 600)]) == Decimal("2.688")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("interval_s", [None, 5.0, 3.0, 1.0])
def test_a_realistic_5_km_bike_ride_measures_5_km_and_credits_240_g_within_1_percent(seed, interval_s):
    summary = judge("bike", realistic_track("bike", km=5.0, seed=seed, interval_s=interval_s))
    assert Decimal("4.950") <= summary.distance_km <= Decimal("5.050")
    assert Decimal("237.6") <= summary.distance_km * BIKE_GRAMS_PER_KM <= Decimal("242.4")


def test_the_generated_route_is_exactly_as_long_as_asked():
    route = city_route(5.0, seed=1)
    vertices = [point(lat, lng, i) for i, (lat, lng) in enumerate(route.vertices)]
    assert len(vertices) > 5  # it turns at several corners
    assert sum(haversine_m(a, b) for a, b in zip(vertices, vertices[1:], strict=False)) == pytest.approx(5000)


def test_a_phone_lying_still_for_ten_minutes_earns_no_distance():
    track = standing_track(minutes=10)
    points = parse_track(track)
    wander_m = sum(haversine_m(a, b) for a, b in zip(points, points[1:], strict=False))
    assert wander_m > 100  # the receiver wanders…
    assert track_distance_km(points) <= Decimal("0.015")  # …but that is not a ride
    assert refusal("bike", track)["reason"] == "too_short"


# Plausible rides


@pytest.mark.parametrize(("mode", "km"), [("bike", 5.0), ("bus", 8.0), ("subway", 12.0)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_realistic_rides_pass_with_their_own_modes_rules(mode, km, seed):
    summary = judge(mode, realistic_track(mode, km=km, seed=seed))
    assert summary.distance_km == pytest.approx(Decimal(km), rel=Decimal("0.02"))
    assert summary.max_segment_kmh <= DEFAULT_RULES[mode].max_segment_kmh
    assert summary.point_count == len(realistic_track(mode, km=km, seed=seed))


@pytest.mark.parametrize("mode", ["bike", "bus"])
def test_a_realistic_ride_sampled_at_exactly_5_s_passes(mode):
    track = realistic_track(mode, km=6.0, seed=4, interval_s=5.0)
    assert set(steps_s(track)) == {5.0}
    assert judge(mode, track).distance_km == pytest.approx(Decimal(6), rel=Decimal("0.01"))


@pytest.mark.parametrize("interval_s", [1.0, None])
def test_a_quiet_receiver_sampling_every_second_is_not_mistaken_for_a_generated_track(interval_s):
    assert judge("bike", realistic_track("bike", seed=1, noise_m=1.0, interval_s=interval_s))


def test_a_subway_ride_with_minutes_underground_without_a_fix_passes():
    track = realistic_track("subway", km=12.0, seed=2)
    assert max(steps_s(track)) > 120
    assert judge("subway", track).average_kmh > 30


def test_one_wild_gps_fix_is_ignored_and_earns_nothing():
    track = realistic_track("bike", seed=1)
    glitched = with_fixes(track, 50, lat=track[50]["lat"] + 0.003)  # 330 m off for one fix
    summary = judge("bike", glitched)
    assert summary.glitches_ignored == 1
    assert summary.distance_km == judge("bike", track).distance_km


def test_a_stale_first_fix_from_far_away_is_ignored():
    track = realistic_track("bike", seed=1)
    summary = judge("bike", with_fixes(track, 0, lat=track[0]["lat"] + 0.02))  # 2.2 km away
    assert summary.glitches_ignored == 1
    assert summary.distance_km == pytest.approx(Decimal(5), rel=Decimal("0.01"))


def test_a_ride_ending_a_minute_ahead_of_the_server_clock_passes():
    track = realistic_track("bike", seed=1)
    ends = datetime.fromisoformat(track[-1]["t"])
    assert judge("bike", track, now=ends - timedelta(minutes=1)).ended_at == ends


def test_times_in_utc_and_with_offsets_describe_the_same_instants():
    track = realistic_track("bike", seed=3)
    in_utc = [{**f, "t": datetime.fromisoformat(f["t"]).astimezone(UTC).isoformat().replace("+00:00", "Z")}
              for f in track]
    assert judge("bike", in_utc) == judge("bike", track)


# Refused rides, each with its reason


def test_four_fixes_are_refused_as_too_few_points():
    details = refusal("bike", realistic_track("bike", seed=1)[:4])
    assert details == {"reason": "too_few_points", "points": 4, "min_points": 5}


def test_a_200_m_ride_is_refused_as_too_short():
    details = refusal("bike", realistic_track("bike", km=0.2, seed=1))
    assert details["reason"] == "too_short"
    assert Decimal(details["distance_km"]) < Decimal("0.3")


def test_a_350_m_sprint_under_a_minute_is_refused_as_too_brief():
    details = refusal("bike", realistic_track("bike", km=0.35, seed=1, cruise_kmh=28, stops=False))
    assert details["reason"] == "too_brief"
    assert details["duration_s"] < 60


def test_swapped_times_are_refused_as_out_of_order():
    track = realistic_track("bike", seed=1)
    swapped = with_fixes(with_fixes(track, 10, t=track[11]["t"]), 11, t=track[10]["t"])
    details = refusal("bike", swapped)
    assert details["reason"] == "timestamps_out_of_order"
    assert details["index"] == 11


def test_two_fixes_at_the_same_time_are_refused_as_out_of_order():
    track = realistic_track("bike", seed=1)
    assert refusal("bike", with_fixes(track, 20, t=track[19]["t"]))["reason"] == "timestamps_out_of_order"


def test_a_ride_ending_in_the_future_is_refused():
    details = refusal("bike", realistic_track("bike", seed=1, start=NOW - timedelta(minutes=5)))
    assert details["reason"] == "timestamp_in_future"
    assert details["tolerance_s"] == 120


def test_a_ride_from_three_days_ago_is_refused_as_too_old():
    details = refusal("bike", realistic_track("bike", seed=1, start=NOW - timedelta(days=3)))
    assert details["reason"] == "too_old"
    assert details["max_age_h"] == 48


def test_a_ride_from_yesterday_evening_is_still_accepted():
    assert judge("bike", realistic_track("bike", seed=1, start=NOW - timedelta(hours=20)))


def test_a_bike_at_50_kmh_is_refused_as_segment_too_fast():
    details = refusal("bike", realistic_track("bike", seed=1, cruise_kmh=50))
    assert details["reason"] == "segment_too_fast"
    assert details["speed_kmh"] > 45
    assert details["max_segment_kmh"] == 35


def test_two_minutes_in_a_car_inside_a_bike_ride_are_refused_as_segment_too_fast():
    track = realistic_track("bike", seed=1)
    details = refusal("bike", sped_up(track, 100, 130, factor=4))
    assert details["reason"] == "segment_too_fast"
    assert details["speed_kmh"] > 50


def test_a_2_km_jump_between_two_fixes_is_refused_as_teleport():
    details = refusal("bike", moved_from(realistic_track("bike", seed=1), 150, east_m=2000))
    assert details["reason"] == "teleport"
    assert details["index"] == 150
    assert details["jump_m"] == pytest.approx(2000, abs=30)


def test_a_steady_31_kmh_bike_ride_without_a_stop_is_refused_as_average_too_fast():
    details = refusal("bike", realistic_track("bike", seed=1, cruise_kmh=31, stops=False))
    assert details["reason"] == "average_too_fast"
    assert details["average_kmh"] > 28


def test_three_minutes_without_a_fix_on_a_bike_are_refused_as_gap_too_long():
    details = refusal("bike", without_between(realistic_track("bike", seed=1), 300, 480))
    assert details["reason"] == "gap_too_long"
    assert details["gap_s"] > 120


def test_a_subway_ride_submitted_as_a_bike_ride_is_refused():
    track = realistic_track("subway", km=12.0, seed=1)
    assert judge("subway", track)
    assert refusal("bike", track)["reason"] == "gap_too_long"


def test_a_bus_ride_on_an_expressway_submitted_as_a_bike_ride_is_refused_as_segment_too_fast():
    expressway = realistic_track("bus", km=8.0, seed=1, cruise_kmh=70)
    assert judge("bus", expressway)
    assert refusal("bike", expressway)["reason"] == "segment_too_fast"


def test_a_generated_constant_speed_ride_is_refused_as_synthetic():
    details = refusal("bike", synthetic_track(km=5.0, speed_kmh=18.0, interval_s=5.0))
    assert details["reason"] == "synthetic_regularity"
    assert details["pattern"] == "constant_speed"


def test_a_perfectly_straight_ride_with_varying_speed_is_refused_as_synthetic():
    details = refusal("bike", realistic_track("bike", seed=1, straight=True, noise_m=0))
    assert details["reason"] == "synthetic_regularity"
    assert details["pattern"] == "straight_line"


def test_a_straight_road_ridden_with_a_real_receiver_passes():
    assert judge("bike", realistic_track("bike", seed=1, straight=True))


def test_generated_points_rounded_to_6_decimals_are_still_refused():
    rounded = [{**f, "lat": round(f["lat"], 6), "lng": round(f["lng"], 6)}
               for f in realistic_track("bike", seed=2, straight=True, noise_m=0)]
    assert refusal("bike", rounded)["reason"] == "synthetic_regularity"


def test_rules_are_configurable_per_mode():
    strict = ModeRules(max_segment_kmh=20, max_average_kmh=15, min_distance_km=0.3, min_points=5,
                       max_gap_s=120, max_jump_m=200, min_duration_s=60)
    track = realistic_track("bike", seed=1, cruise_kmh=24, stops=False)
    assert judge("bike", track)
    with pytest.raises(ImplausibleTrip):
        judge("bike", track, rules=strict)


def test_an_unknown_mode_is_a_validation_error():
    with pytest.raises(ValidationFailed) as refused:
        judge("car", realistic_track("bike", seed=1))
    assert refused.value.details["field"] == "mode"


# Malformed tracks


def test_a_track_that_is_not_a_list_is_a_validation_error():
    for raw in ({"lat": 31.2}, "[]", None, 5):
        with pytest.raises(ValidationFailed) as refused:
            parse_track(raw)
        assert refused.value.details == {"field": "track", "reason": "not_a_list"}


GOOD = {"lat": 31.2304, "lng": 121.4737, "t": "2025-06-02T08:00:00+08:00"}


@pytest.mark.parametrize(("fix", "field", "reason"), [
    ({"lat": 31.2304, "lng": 121.4737}, "track[2].t", "missing"),
    ({**GOOD, "t": "2025-06-02T08:00:00"}, "track[2].t", "missing_offset"),
    ({**GOOD, "t": "2025-06-02"}, "track[2].t", "missing_offset"),
    ({**GOOD, "t": "yesterday at eight"}, "track[2].t", "not_iso8601"),
    ({**GOOD, "t": 1748822400000}, "track[2].t", "not_iso8601"),
    ({**GOOD, "lat": 91}, "track[2].lat", "out_of_range"),
    ({**GOOD, "lng": -180.5}, "track[2].lng", "out_of_range"),
    ({**GOOD, "lat": float("nan")}, "track[2].lat", "not_a_number"),
    ({**GOOD, "lng": float("inf")}, "track[2].lng", "not_a_number"),
    ({**GOOD, "lat": "31.2304"}, "track[2].lat", "not_a_number"),
    ({**GOOD, "lng": True}, "track[2].lng", "not_a_number"),
    ({**GOOD, "lat": None}, "track[2].lat", "not_a_number"),
    ({"lng": 121.4737, "t": GOOD["t"]}, "track[2].lat", "missing"),
    ([31.2304, 121.4737, GOOD["t"]], "track[2]", "not_an_object"),
])
def test_a_malformed_fix_is_a_validation_error_naming_the_field(fix, field, reason):
    with pytest.raises(ValidationFailed) as refused:
        parse_track([GOOD, GOOD, fix, GOOD])
    assert refused.value.details["field"] == field
    assert refused.value.details["reason"] == reason


def test_more_than_20000_fixes_is_a_validation_error():
    with pytest.raises(ValidationFailed) as refused:
        parse_track([GOOD] * 20_001)
    assert refused.value.details["reason"] == "too_many_points"


def test_a_well_formed_track_parses_to_aware_points_and_ignores_extra_keys():
    points = parse_track([{**GOOD, "accuracy": 5, "speed": 4.2},
                          {**GOOD, "t": "2025-06-02T00:00:05Z", "lat": -90}])
    assert points[0] == TrackPoint(31.2304, 121.4737, datetime(2025, 6, 2, 0, 0, tzinfo=UTC))
    assert points[1].t - points[0].t == timedelta(seconds=5)
    assert points[1].lat == -90.0


# Copies of a ride


def test_a_shape_has_32_samples_from_start_to_end():
    track = realistic_track("bike", seed=1)
    shape = shape_of(track)
    assert len(shape) == 32
    assert shape[0] == pytest.approx((track[0]["lat"], track[0]["lng"], 0.0), abs=1e-6)
    assert shape[-1][2] == pytest.approx(judge("bike", track).duration_s, abs=0.1)


def test_the_same_ride_shifted_to_another_day_is_the_same_journey():
    track = realistic_track("bike", seed=1)
    assert same_journey(shape_of(track), shape_of(shifted(track, days=1, minutes=37)))


@pytest.mark.parametrize(("mode", "km", "seed"), [("bike", 5.0, 1), ("bike", 2.0, 2), ("bus", 8.0, 3),
                                                  ("subway", 12.0, 4)])
def test_a_copy_with_5_m_of_random_jitter_is_the_same_journey(mode, km, seed):
    track = realistic_track(mode, km=km, seed=seed)
    copy = shifted(jittered(track, metres=5, seed=seed), hours=30)
    assert judge(mode, copy, now=NOW + timedelta(hours=30))  # the copy alone looks like a real ride
    assert same_journey(shape_of(track), shape_of(copy))


@pytest.mark.parametrize(("mode", "km", "route"), [("bike", 5.0, 1), ("bike", 2.0, 2), ("bus", 8.0, 3),
                                                   ("subway", 12.0, 4)])
def test_the_same_commute_ridden_again_is_not_the_same_journey(mode, km, route):
    monday = shape_of(realistic_track(mode, km=km, seed=route, route_seed=route))
    tuesday = shape_of(realistic_track(mode, km=km, seed=route + 100, route_seed=route,
                                       start=DEFAULT_START + timedelta(days=1)))
    for monday_cell, tuesday_cell in zip(shape_cells(monday), shape_cells(tuesday), strict=True):
        assert monday_cell in neighbour_cells(tuesday_cell)  # the lookup finds Monday as a candidate…
    assert not same_journey(monday, tuesday)  # …but lights and traffic never repeat their timing


def test_the_same_short_ride_at_the_same_pace_is_not_a_copy_when_it_took_a_different_time():
    first = shape_of(realistic_track("bike", km=1.0, seed=2))
    again = shape_of(realistic_track("bike", km=1.0, seed=102, route_seed=2))
    apart_m = [haversine_m(point(a[0], a[1]), point(b[0], b[1])) for a, b in zip(first, again, strict=True)]
    assert max(apart_m) < 25  # no lights, same pace: the route matches within metres…
    assert abs(first[-1][2] - again[-1][2]) > 20  # …but it took a different time
    assert not same_journey(first, again)


def test_a_different_route_is_not_the_same_journey():
    one = shape_of(realistic_track("bike", seed=1))
    elsewhere = shape_of(realistic_track("bike", seed=2))
    assert not same_journey(one, elsewhere)


def stretched(shape, seconds: float):
    """The same samples, the ride taking `seconds` longer (times rounded as track_shape rounds them)."""
    span = shape[-1][2]
    return [(lat, lng, round(t * (span + seconds) / span, 1)) for lat, lng, t in shape]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_replay_lookup_by_duration_misses_no_copy_same_journey_would_match(seed):
    """The replay check reads only kept shapes whose duration is within replay_span_range: every copy
    same_journey matches, however its timing was stretched, must lie in that range."""
    shape = shape_of(realistic_track("bike", km=3.0, seed=seed))
    shortest, longest = replay_span_range(shape)
    matched = []
    for tenths in range(-150, 151):
        copy = stretched(shape, tenths / 10)
        if same_journey(shape, copy):
            matched.append(tenths)
            assert shortest <= shape_span_ds(copy) <= longest, tenths
    # Copies up to ~6 s slower or faster still match, so the range is not narrower than it must be.
    assert min(matched) <= -55 and max(matched) >= 55, (min(matched), max(matched))


def test_shapes_of_different_lengths_are_not_the_same_journey():
    shape = shape_of(realistic_track("bike", seed=1))
    assert not same_journey(shape, shape[:16])


def test_neighbour_cells_are_the_cell_and_its_eight_neighbours():
    cell = shape_cells(shape_of(realistic_track("bike", seed=1)))[0]
    around = neighbour_cells(cell)
    assert len(set(around)) == 9
    assert cell in around


def test_a_start_jittered_across_a_cell_border_is_found_through_the_neighbour_cells():
    cell_deg = math.degrees(500 / 6_371_008.8)  # 500 m of latitude
    border = math.floor(31.2304 / cell_deg) * cell_deg
    north, south = (offset(border, 121.4737, 0, metres)[0] for metres in (3, -3))
    north = [(north, 121.4737, 0.0), (north, 121.48, 600.0)]
    south = [(south, 121.4737, 0.0), (south, 121.48, 600.0)]
    assert shape_cells(north, cell_m=500)[0] != shape_cells(south, cell_m=500)[0]
    assert shape_cells(north)[0] in neighbour_cells(shape_cells(south)[0])


@pytest.mark.parametrize("seed", range(1, 9))
def test_a_jittered_copy_starts_and_ends_in_neighbouring_cells(seed):
    track = realistic_track("bike", seed=seed)
    start, end = shape_cells(shape_of(track))
    copy_start, copy_end = shape_cells(shape_of(jittered(track, metres=5, seed=seed)))
    assert start in neighbour_cells(copy_start)
    assert end in neighbour_cells(copy_end)
