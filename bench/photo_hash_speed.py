"""Time to fingerprint a 12-megapixel phone JPEG: JPEG draft decoding vs decoding every pixel.

Makes 4000x3000 JPEGs (q 90) from a real photo: upscaled as is, and with sensor-like grain (a real
phone photo's noise makes the file, and so its entropy decoding, two to three times bigger). Prints the
median of each step and the ratios; asserts nothing. The baselines run the same fingerprint on every
pixel: decoded in colour (what a decoder does unless told otherwise), and decoded in grey only, which
shows how much of the draft's saving is the scale and how much the skipped colour.

    .venv/bin/python bench/photo_hash_speed.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.services.photo_fingerprint import fingerprint, open_for_hashing
from tests.photos import WALLPAPERS, jpeg, library_photos


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def full_decode(data: bytes) -> Image.Image:
    """Every pixel in colour, turned by its EXIF orientation in place (no copy of the 36 MB image:
    exif_transpose without in_place copies even an upright photo, which made this baseline slower)."""
    image = Image.open(io.BytesIO(data))
    ImageOps.exif_transpose(image, in_place=True)
    return image


def full_grey_decode(data: bytes) -> Image.Image:
    """Every pixel, but only the grey channel (what the draft asks for, at full scale)."""
    image = Image.open(io.BytesIO(data))
    image.draft("L", image.size)
    ImageOps.exif_transpose(image, in_place=True)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    source = Path(WALLPAPERS[5])  # aitzgorri, a 3088x2056 camera photo, when the wallpapers are installed
    photo = Image.open(source).convert("RGB") if source.exists() else library_photos()["china"]
    big = photo.resize((4000, 3000), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(0).normal(0, 6, (3000, 4000, 1))
    grainy = Image.fromarray(np.clip(np.asarray(big, dtype=np.float32) + grain, 0, 255).astype(np.uint8))
    print(f"source photo: {source.name if source.exists() else 'sklearn china.jpg'}, upscaled to 4000x3000, JPEG q90")

    for label, image in (("upscaled", big), ("upscaled + grain", grainy)):
        data = jpeg(image, 90)
        drafted = open_for_hashing(data)
        draft_decode = median_ms(lambda: open_for_hashing(data), args.runs)  # noqa: B023
        draft_total = median_ms(lambda: fingerprint(open_for_hashing(data)), args.runs)  # noqa: B023
        fingerprint_only = median_ms(lambda: fingerprint(drafted), args.runs)  # noqa: B023
        full_decode_ms = median_ms(lambda: full_decode(data).load(), args.runs)  # noqa: B023
        full_total = median_ms(lambda: fingerprint(full_decode(data)), args.runs)  # noqa: B023
        grey_total = median_ms(lambda: fingerprint(full_grey_decode(data)), args.runs)  # noqa: B023
        print(f"\n{label}: {len(data) / 1e6:.1f} MB, drafted to {drafted.size[0]}x{drafted.size[1]}")
        print(f"  draft decode + EXIF turn        {draft_decode:7.1f} ms")
        print(f"  fingerprint of the draft        {fingerprint_only:7.1f} ms")
        print(f"  draft decode + fingerprint      {draft_total:7.1f} ms")
        print(f"  full decode + EXIF turn         {full_decode_ms:7.1f} ms")
        print(f"  full decode + fingerprint       {full_total:7.1f} ms")
        print(f"  full grey decode + fingerprint  {grey_total:7.1f} ms")
        print(f"  draft is {full_total / draft_total:.1f}x faster end to end than a full decode, "
              f"{grey_total / draft_total:.1f}x than a full grey one")


if __name__ == "__main__":
    main()
