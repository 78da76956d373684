"""Measure the photo-duplicate engine on real photographs.

Prints, per kind of copy, the share refused (duplicate), flagged (suspect) and missed; the false
duplicates and false suspects among all pairs of distinct photos and among different crops of one
scene; and the time per fingerprint. A copy counts as refused only if the database lookup returns it
(a query hash within CANDIDATE_DISTANCE bits of a stored hash: the band probes find every such hash)
AND `judge` says "duplicate"; pairs of different photos are also judged without the lookup.

    .venv/bin/python bench/photo_dedup_eval.py [--copies 3] [--library-only] [--show-misses]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.services.photo_fingerprint import (
    CANDIDATE_DISTANCE,
    Fingerprint,
    fingerprint,
    hamming,
    judge,
    open_for_hashing,
)
from tests.photos import BENIGN, HARD, copies_of, jpeg, library_photos, scene_crops, scene_photo
from tests.photos import wallpaper_photos


def found_by_lookup(new: Fingerprint, stored: Fingerprint) -> bool:
    """What the lookup returns once the band hits are filtered to CANDIDATE_DISTANCE."""
    return min(hamming(q, s) for q in new.query_hashes for s in stored.index_hashes) <= CANDIDATE_DISTANCE


def verdict(new: Fingerprint, stored: Fingerprint) -> str:
    if not found_by_lookup(new, stored):
        return "distinct"
    return judge(new, stored.index_hashes, stored.signature).decision


def worse(a: str, b: str) -> str:
    order = ("distinct", "suspect", "duplicate")
    return max(a, b, key=order.index)


def pct(n: int, total: int) -> str:
    return f"{100 * n / total:5.1f}%" if total else "   - "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="copies of each photo per kind (random parameters)")
    parser.add_argument("--library-only", action="store_true", help="skip the Debian wallpaper photos")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()

    photos = dict(library_photos())
    wallpapers = {} if args.library_only else wallpaper_photos()
    photos.update(wallpapers)
    print(f"{len(photos)} photos: {len(library_photos())} from scikit-image/scikit-learn/matplotlib, "
          f"{len(wallpapers)} from Debian's wallpaper packages")

    timings = []
    stored = {}
    for name, image in photos.items():
        data = jpeg(image, 92)
        started = time.perf_counter()
        stored[name] = fingerprint(open_for_hashing(data))
        timings.append(time.perf_counter() - started)

    print(f"\n{'kind of copy':38} {'copies':>6} {'refused':>8} {'flagged':>8} {'missed':>8}")
    for benign, families in ((True, BENIGN), (False, HARD)):
        print("benign copies (must be refused)" if benign else "hard copies (refused or flagged)")
        totals = {"duplicate": 0, "suspect": 0, "distinct": 0}
        for seed, (family, make) in enumerate(families.items()):
            counts = {"duplicate": 0, "suspect": 0, "distinct": 0}
            for k, (name, image) in enumerate(photos.items()):
                for data in copies_of(image, make, seed=1000 * seed + k, count=args.copies):
                    copy = fingerprint(open_for_hashing(data))
                    decision = verdict(copy, stored[name])
                    counts[decision] += 1
                    if args.show_misses and decision != "duplicate":
                        v = judge(copy, stored[name].index_hashes, stored[name].signature)
                        print(f"    {decision:9} {name:18} {v}")
            n = sum(counts.values())
            for key in totals:
                totals[key] += counts[key]
            print(f"  {family:36} {n:6} {pct(counts['duplicate'], n)} {pct(counts['suspect'], n)} "
                  f"{pct(counts['distinct'], n)}")
        n = sum(totals.values())
        print(f"  {'all':36} {n:6} {pct(totals['duplicate'], n)} {pct(totals['suspect'], n)} "
              f"{pct(totals['distinct'], n)}")

    print("\nfalse matches (a pair is counted by the worse of its two upload orders)")
    pairs = list(itertools.combinations(stored, 2))
    judged = {"duplicate": 0, "suspect": 0}
    found = {"duplicate": 0, "suspect": 0}
    candidates = 0
    for a, b in pairs:
        j = worse(judge(stored[a], stored[b].index_hashes, stored[b].signature).decision,
                  judge(stored[b], stored[a].index_hashes, stored[a].signature).decision)
        f = worse(verdict(stored[a], stored[b]), verdict(stored[b], stored[a]))
        candidates += found_by_lookup(stored[a], stored[b]) or found_by_lookup(stored[b], stored[a])
        for d in judged:
            judged[d] += j == d
            found[d] += f == d
        if args.show_misses and j != "distinct":
            print(f"    {j:9} {a} / {b}")
    print(f"  distinct photos: {len(pairs)} pairs, {candidates} within {CANDIDATE_DISTANCE} bits (candidates); "
          f"{found['duplicate']} false duplicates, {found['suspect']} false suspects "
          f"(judged without the lookup: {judged['duplicate']} / {judged['suspect']})")

    crop_counts: dict[str, dict[str, int]] = {}
    for name, image in photos.items():
        for what, a, b, overlapping in scene_crops(image):
            fa, fb = (fingerprint(open_for_hashing(jpeg(c))) for c in (a, b))
            j = worse(judge(fa, fb.index_hashes, fb.signature).decision,
                      judge(fb, fa.index_hashes, fa.signature).decision)
            crop_counts.setdefault(what, {"duplicate": 0, "suspect": 0, "distinct": 0})[j] += 1
            if args.show_misses and j != "distinct" and not overlapping:
                print(f"    {j:9} {name} {what}")
    print("  different crops of one scene (judged without the lookup):")
    for what, counts in crop_counts.items():
        n = sum(counts.values())
        print(f"    {what:28} {n:4} pairs: {counts['duplicate']} duplicate, {counts['suspect']} suspect, "
              f"{counts['distinct']} distinct")
    left, right = (fingerprint(open_for_hashing(jpeg(p))) for p in (photos["motorcycle"], scene_photo()))
    stereo = worse(judge(left, right.index_hashes, right.signature).decision,
                   judge(right, left.index_hashes, left.signature).decision)
    print(f"  a second shot of the same scene (stereo pair, judged without the lookup): {stereo}")

    n_judge = 200
    started = time.perf_counter()
    for a, b in pairs[:n_judge]:
        judge(stored[a], stored[b].index_hashes, stored[b].signature)
    judge_ms = (time.perf_counter() - started) / n_judge * 1000
    sizes = [len(f.signature) for f in stored.values()]
    print(f"\ntiming: open_for_hashing + fingerprint median {1000 * statistics.median(timings):.1f} ms "
          f"(max {1000 * max(timings):.1f} ms) on the uploads as JPEG q92; judge {judge_ms:.2f} ms per candidate")
    print(f"stored per photo: {statistics.mean(len(f.index_hashes) for f in stored.values()):.1f} hashes "
          f"(max {max(len(f.index_hashes) for f in stored.values())}), signature {max(sizes)} chars max; "
          f"query hashes max {max(len(f.query_hashes) for f in stored.values())}")


if __name__ == "__main__":
    main()
