"""Photo fingerprints (照片指纹): decide whether an uploaded photo is a copy of one already stored.

Two independent signals. Candidates come from 64-bit pHashes (imagehash's DCT hash): of the photo as
uploaded, of the photo with flat borders and a phone's screenshot bars trimmed off, and of five windows
keeping 94% of each side, so that a crop still finds its original; a query tries all 8 rotations and
mirrors. A candidate is confirmed from the stored signature: up to 72 corner keypoints with 128-bit
intensity-comparison descriptors (BRIEF-like, on a pattern closed under the 8 rotations/mirrors, so a
signature can be turned without its pixels) must agree on one rotation+scale+shift that carries most of
one photo onto most of the other; smooth or dark photos with few reliable corners fall back on a 256-bit
sign hash of the 16x16 lowest DCT coefficients.
"""

from __future__ import annotations

import base64
import io
import itertools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

CANDIDATE_DISTANCE = 8  # a stored hash within this distance of any query hash is a candidate
BAND_BITS = (21, 21, 22)
DRAFT_SIZE = 256  # JPEG draft decoding stops at the smallest 1/2^k scale still this big on both sides
WORK_SIDE = 256  # everything is measured on the photo shrunk to this long side


@dataclass(frozen=True)
class Fingerprint:
    index_hashes: tuple[int, ...]  # to store: whole, trimmed (if bars were found), 5 windows: 6 or 7
    query_hashes: tuple[int, ...]  # to look up: 8 turns of whole and of trimmed, 5 windows: 13 or 21
    signature: str  # keypoints + sign hash, ~1.8 KB of text (see _encode)


@dataclass(frozen=True)
class Verdict:
    decision: str  # "duplicate" (refuse), "suspect" (accept, flag for the moderator), "distinct"
    distance: int  # best pHash distance between the new photo's query hashes and the stored hashes
    reason: str


def open_for_hashing(data: bytes) -> Image.Image:
    """Decode only what the hashes need (JPEG draft: 1/2..1/8 scale, grey) and turn by the EXIF orientation."""
    try:
        image = Image.open(io.BytesIO(data))
        image.draft("L", (DRAFT_SIZE, DRAFT_SIZE))
        image = ImageOps.exif_transpose(image).convert("L")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a decodable image: {exc}") from exc
    return image


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def bands(h: int) -> tuple[int, int, int]:
    """The hash cut into 21/21/22-bit bands, low bits first."""
    return h & 0x1FFFFF, (h >> 21) & 0x1FFFFF, h >> 42


def band_probes(h: int, radius: int = 2) -> tuple[set[int], set[int], set[int]]:
    """Per band, every value within `radius` bits: a hash within 3*radius+2 bits shares one (pigeonhole)."""
    low, middle, high = ({value ^ sum(1 << b for b in bits) for r in range(radius + 1)
                          for bits in itertools.combinations(range(width), r)}
                         for value, width in zip(bands(h), BAND_BITS, strict=True))
    return low, middle, high


# ---- pHash --------------------------------------------------------------------------------------------
def _dct_rows(n: int, k: int) -> np.ndarray:
    """The first k rows of scipy's unnormalised DCT-II matrix of size n (what imagehash uses)."""
    return 2 * np.cos(np.pi * np.arange(k)[:, None] * (2 * np.arange(n)[None, :] + 1) / (2 * n))


_DCT8 = _dct_rows(32, 8)
_DCT16 = _dct_rows(64, 16)


def _phash_bits(pixels: np.ndarray) -> int:
    low = _DCT8 @ pixels @ _DCT8.T
    return int.from_bytes(np.packbits(low > np.median(low)).tobytes(), "big")


def _small(image: Image.Image) -> np.ndarray:
    return np.asarray(image.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)


def phash(image: Image.Image) -> int:
    """imagehash.phash as an int (same bits): 32x32 grey, 8x8 low DCT coefficients above their median."""
    return _phash_bits(_small(image.convert("L")))


def _orientations(pixels: np.ndarray) -> list[int]:
    # Shrinking commutes with turning: turn the 32x32 image rather than the photo.
    turns = [np.rot90(pixels, k) for k in range(4)]
    return [_phash_bits(p) for p in turns + [np.fliplr(p) for p in turns]]


# ---- borders and screenshot bars ---------------------------------------------------------------------------
TRIM_TOLERANCE = 3  # grey levels: a digital bar is one colour give or take JPEG noise; sky, moon or sand is not
TRIM_SHARE = 0.9  # the rest of a bar's line may be the clock, icons and labels
TRIM_GAP = 0.03  # a line of text or icons this thick (share of the side) may interrupt a bar
TRIM_MIN_KEEP = 0.2  # a landscape photo fills a third of a portrait screenshot: keep at least 20%
TRIM_BANDS = 3  # status bar, title bar, letterbox


def _bar_depth(lines: np.ndarray) -> int:
    """How many of `lines` (outermost first) are flat bars, possibly of a few colours one after another."""
    at, limit, gap = 0, int(len(lines) * (1 - TRIM_MIN_KEEP)), max(1, round(TRIM_GAP * len(lines)))
    for _ in range(TRIM_BANDS):
        if at >= limit or lines.shape[1] == 0:
            break
        colour = np.median(lines[at])
        if (np.abs(lines[at] - colour) <= TRIM_TOLERANCE).mean() < TRIM_SHARE:
            break  # most photos: the outermost line is not flat, nothing more to compute
        near = np.flatnonzero((np.abs(lines[at:limit + gap] - colour) <= TRIM_TOLERANCE).mean(axis=1) >= TRIM_SHARE)
        # The band runs on across lines of text or icons up to `gap` thick, not across the photo.
        breaks = np.flatnonzero(np.diff(near) > gap + 1)
        at += int(near[breaks[0]] if len(breaks) else near[-1]) + 1
    return min(at, limit)


def content_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the photo inside flat borders or a phone's bars."""
    h, w = gray.shape
    # Rows, then columns of what is left. A bar's line is 90% flat, so a photo would have to fill less
    # than a tenth of a line for the bars across it to be mistaken for a bar: it never fills that little.
    top, bottom = _bar_depth(gray), h - _bar_depth(gray[::-1])
    if bottom - top < TRIM_MIN_KEEP * h:
        return 0, 0, w, h
    left, right = _bar_depth(gray[top:bottom].T), w - _bar_depth(gray[top:bottom].T[::-1])
    if right - left < TRIM_MIN_KEEP * w:
        return 0, 0, w, h
    return left, top, right, bottom


# ---- keypoints ---------------------------------------------------------------------------------------------
MAX_KEYPOINTS = 72
PATCH = 12  # radius of a descriptor's comparisons, working pixels (~5% of the long side)
# 16 base comparisons; with their 8 rotations/mirrors they make the 128 bits of a descriptor.
_BASE_PAIRS = (((-11, -3), (4, 9)), ((-8, 6), (7, -5)), ((-2, -10), (10, 2)), ((3, 0), (-9, -6)),
               ((0, 5), (-5, -1)), ((6, 7), (-1, -8)), ((-6, -6), (2, 1)), ((9, -2), (-3, 4)),
               ((-1, 11), (5, -4)), ((1, -2), (-7, 8)), ((-4, 2), (11, -1)), ((2, -7), (-2, 3)),
               ((7, 3), (0, -11)), ((-10, 1), (-3, -9)), ((4, -5), (8, 8)), ((-5, 9), (1, 0)))


def _turn(g: int, x, y):
    """(x, y) about the centre under turn g: g % 4 quarter turns clockwise, then mirrored if g >= 4."""
    for _ in range(g % 4):
        x, y = -y, x
    return (-x, y) if g >= 4 else (x, y)


def _pattern() -> tuple[np.ndarray, np.ndarray]:
    pairs = [(_turn(g, *p), _turn(g, *q)) for p, q in _BASE_PAIRS for g in range(8)]
    index = {pair: i for i, pair in enumerate(pairs)}
    assert len(index) == 128
    # Closed under turning: on the photo turned by g, comparison i is comparison perm[g][i].
    return np.array(pairs), np.array([[index[(_turn(g, *p), _turn(g, *q))] for p, q in pairs] for g in range(8)])


_PAIRS, _PERM = _pattern()
_ODD = (np.arange(16) % 2 == 1)[None, :]


def _sobel(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ndimage.sobel(a, 1), ndimage.sobel(a, 0)) bit for bit (mode 'reflect', float32; each pass summed in
    float64 and rounded to float32 as SciPy does), in a third of SciPy's time on a 256 px photo."""
    p = np.pad(a, 1, mode="symmetric").astype(np.float64)
    dx = (p[:, 2:] - p[:, :-2]).astype(np.float32).astype(np.float64)
    dy = (p[2:] - p[:-2]).astype(np.float32).astype(np.float64)
    ix = (dx[1:-1] * 2 + (dx[:-2] + dx[2:])).astype(np.float32)
    iy = (dy[:, 1:-1] * 2 + (dy[:, :-2] + dy[:, 2:])).astype(np.float32)
    return ix, iy


def _maximum_filter(a: np.ndarray, size: int) -> np.ndarray:
    """ndimage.maximum_filter(a, size) (mode 'reflect'), exactly, ten times faster: rows, then columns."""
    r, (h, w) = size // 2, a.shape
    p = np.pad(a, r, mode="symmetric")
    rows = p[:, :w].copy()
    for k in range(1, size):
        np.maximum(rows, p[:, k:k + w], out=rows)
    out = rows[:h].copy()
    for k in range(1, size):
        np.maximum(out, rows[k:k + h], out=out)
    return out


def _keypoints(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Harris corners, spread round-robin over a 4x4 grid (strongest first), and their 128 comparisons."""
    # Box filters rather than Gaussians: as symmetric under quarter turns and mirrors, and 3x faster.
    g = ndimage.uniform_filter(gray, 3)
    ix, iy = _sobel(g)
    a, b, c = (ndimage.uniform_filter(v, 5) for v in (ix * ix, iy * iy, ix * iy))
    response = a * b - c * c - 0.05 * (a + b) ** 2
    peaks = (response == _maximum_filter(response, 7)) & (response > 1e-4 * response.max())
    m = PATCH + 1
    peaks[:m], peaks[-m:], peaks[:, :m], peaks[:, -m:] = False, False, False, False
    ys, xs = np.nonzero(peaks)
    strength = response[ys, xs]
    # Spread: the best corner of every cell, then the second best of every cell, ... so that one bright
    # region (street lights, a logo) cannot take all the keypoints and a crop keeps most cells' points.
    cell = (ys * 4 // gray.shape[0]) * 4 + xs * 4 // gray.shape[1]
    by_cell = np.lexsort((-strength, cell))
    rank = np.empty(len(cell), int)
    rank[by_cell] = np.arange(len(cell)) - np.searchsorted(cell[by_cell], cell[by_cell])
    order = np.lexsort((-strength, rank))[:MAX_KEYPOINTS]
    ys, xs = ys[order], xs[order]
    smooth = ndimage.uniform_filter(gray, 5)
    p, q = _PAIRS[:, 0], _PAIRS[:, 1]
    bits = smooth[ys[:, None] + p[:, 1], xs[:, None] + p[:, 0]] < smooth[ys[:, None] + q[:, 1], xs[:, None] + q[:, 0]]
    return np.stack([xs, ys], axis=1).astype(float), bits


Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class _Signature:
    size: tuple[int, int]  # the trimmed photo at working size: width, height
    frame: Rect  # the untrimmed upload in the same pixels: left, top, right, bottom
    signs: np.ndarray  # (16, 16) bool: low DCT coefficients > 0
    points: np.ndarray  # (n, 2) keypoints, working pixels
    bits: np.ndarray  # (n, 128) bool

    def turned(self, g: int) -> _Signature:
        """The signature of the same photo turned by g."""
        w, h = self.size
        size = (h, w) if g % 2 else (w, h)

        def turn(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            tx, ty = _turn(g, x - (w - 1) / 2, y - (h - 1) / 2)
            return tx + (size[0] - 1) / 2, ty + (size[1] - 1) / 2

        points = np.stack(turn(self.points[:, 0], self.points[:, 1]), axis=1)
        fx, fy = turn(np.array(self.frame[::2]), np.array(self.frame[1::2]))
        frame = (fx.min(), fy.min(), fx.max(), fy.max())
        bits = np.empty_like(self.bits)
        bits[:, _PERM[g]] = self.bits
        signs = self.signs
        for _ in range(g % 4):  # a quarter turn transposes the coefficients and negates the odd columns
            signs = signs.T ^ _ODD
        return _Signature(size, frame, signs ^ _ODD if g >= 4 else signs, points, bits)


_VERSION = "k1"
_HEADER = struct.Struct("<HHhhhhB")  # size, frame, number of keypoints


def _encode(sig: _Signature) -> str:
    w, h = sig.size
    scaled = np.round(sig.points / [max(w - 1, 1), max(h - 1, 1)] * 255).astype(np.uint8)
    body = _HEADER.pack(w, h, *(round(v) for v in sig.frame), len(scaled)) + np.packbits(sig.signs).tobytes() \
        + scaled.tobytes() + np.packbits(sig.bits, axis=1).tobytes()
    return f"{_VERSION}:{base64.b64encode(body).decode()}"


@lru_cache(maxsize=4096)
def _decode(text: str) -> _Signature:
    version, _, b64 = text.partition(":")
    if version != _VERSION:
        raise ValueError(f"unknown signature version {version!r}")
    body = base64.b64decode(b64)
    w, h, *frame, n = _HEADER.unpack_from(body)
    at = _HEADER.size
    signs = np.unpackbits(np.frombuffer(body, np.uint8, 32, at)).astype(bool).reshape(16, 16)
    scaled = np.frombuffer(body, np.uint8, 2 * n, at + 32).reshape(n, 2)
    bits = np.unpackbits(np.frombuffer(body, np.uint8, 16 * n, at + 32 + 2 * n).reshape(n, 16), axis=1).astype(bool)
    return _Signature((w, h), tuple(frame), signs, scaled / 255 * [max(w - 1, 1), max(h - 1, 1)], bits)


# ---- comparing signatures ----------------------------------------------------------------------------------
MAX_DESCRIPTOR_BITS = 28  # of 128
INLIER_TOLERANCE = 0.012  # of the long side: 3 working pixels
HYPOTHESES = 24  # transforms are tried from pairs among the 24 closest matches


@dataclass(frozen=True)
class Comparison:
    sign_distance: int  # of 256, in the best of the 8 turns
    inliers: int  # keypoint matches that fit one rotation+scale+shift
    share: float  # inliers / keypoints of the sparser photo that the other photo also shows
    cover_new: float  # share of the new photo showing the stored one, under that transform
    cover_stored: float  # and the converse (each with or without trimming, whichever covers more)


def _inside(z: np.ndarray, r: Rect, margin: float = 0.0) -> np.ndarray:
    return (z.real >= r[0] + margin) & (z.real <= r[2] - margin) & (z.imag >= r[1] + margin) & (z.imag <= r[3] - margin)


def _grid(r: Rect) -> np.ndarray:
    u = np.linspace(0.03, 0.97, 16)
    return (r[0] + u * (r[2] - r[0]))[None, :] + 1j * (r[1] + u * (r[3] - r[1]))[:, None]


def _mutual_matches(a: _Signature, b: _Signature) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints that are each other's nearest descriptor, close enough; closest pairs first."""
    if len(a.bits) == 0 or len(b.bits) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    pa, pb = np.packbits(a.bits, axis=1).view(np.uint64), np.packbits(b.bits, axis=1).view(np.uint64)
    dist = np.bitwise_count(pa[:, None, :] ^ pb[None, :, :]).sum(axis=2)
    near_b, near_a = dist.argmin(axis=1), dist.argmin(axis=0)
    best = dist[np.arange(len(pa)), near_b]
    ia = np.flatnonzero((near_a[near_b] == np.arange(len(pa))) & (best <= MAX_DESCRIPTOR_BITS))
    ia = ia[np.argsort(best[ia], kind="stable")]
    return ia, near_b[ia]


def _geometry(a: _Signature, b: _Signature) -> tuple[int, float, float, float]:
    """Best similarity transform between matched keypoints: (inliers, share, cover of a, cover of b)."""
    ia, ib = _mutual_matches(a, b)
    if len(ia) < 3:
        return 0, 0.0, 0.0, 0.0
    # Work in units of each photo's long side, so one tolerance fits photos of any size.
    za, zb = (a.points[ia] @ [1, 1j]) / max(a.size), (b.points[ib] @ [1, 1j]) / max(b.size)
    i, j = np.triu_indices(min(len(za), HYPOTHESES), 1)  # the closest matches come first
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (zb[j] - zb[i]) / (za[j] - za[i])  # rotation and scale from each pair of matches
    ok = np.isfinite(s) & (np.abs(s) > 0.6) & (np.abs(s) < 1.7) & (np.abs(np.angle(s)) < np.radians(8))
    if not ok.any():
        return 0, 0.0, 0.0, 0.0
    s, t = s[ok], (zb[i] - s * za[i])[ok]
    fits = np.abs(s[:, None] * za[None, :] + t[:, None] - zb[None, :]) < INLIER_TOLERANCE
    inlier = fits[int(fits.sum(axis=1).argmax())]
    da, db = za[inlier] - za[inlier].mean(), zb[inlier] - zb[inlier].mean()
    s = np.vdot(da, db) / max(np.vdot(da, da).real, 1e-12)  # least squares over the inliers
    t = zb[inlier].mean() - s * za[inlier].mean()
    if not 0.5 < abs(s) < 2:
        return 0, 0.0, 0.0, 0.0
    inliers = int((np.abs(s * za + t - zb) < INLIER_TOLERANCE).sum())

    # In working pixels: a -> b is z -> k*z + c.
    k, c = s * max(b.size) / max(a.size), t * max(b.size)
    trimmed_a, trimmed_b = (0, 0, a.size[0] - 1, a.size[1] - 1), (0, 0, b.size[0] - 1, b.size[1] - 1)
    seen_a = _inside(k * (a.points @ [1, 1j]) + c, trimmed_b, PATCH).sum()
    seen_b = _inside(((b.points @ [1, 1j]) - c) / k, trimmed_a, PATCH).sum()
    share = inliers / max(1, min(seen_a, seen_b))
    # Trimming may differ between two copies (a sky as flat as a border): take the framing that fits best.
    covers = [(float(_inside(k * _grid(ra) + c, rb).mean()), float(_inside((_grid(rb) - c) / k, ra).mean()))
              for ra in (trimmed_a, a.frame) for rb in (trimmed_b, b.frame)]
    cover_a, cover_b = max(covers, key=min)
    return inliers, share, cover_a, cover_b


def compare_signatures(new: str, stored: str) -> Comparison:
    a, b = _decode(new), _decode(stored)
    turns = [a.turned(g) for g in range(8)]
    sign_distance = min(int((t.signs != b.signs).sum()) for t in turns)
    # The right turn has by far the most mutual descriptor matches: fit geometry for the best two only.
    likely = sorted(turns, key=lambda t: -len(_mutual_matches(t, b)[0]))[:2]
    best = max((_geometry(t, b) for t in likely), key=lambda r: (r[0], r[1]))
    return Comparison(sign_distance, *best)


# ---- fingerprint and verdict -------------------------------------------------------------------------------
BASE_SIDE = 512  # bars are looked for at this size: a phone's clock is still legible
# Four corner windows and a centre one keeping 94% of each side: a crop of 5-10% lands within a few bits
# of one of them (measured: 95% of such crops within 8 bits, against 36% for the whole-photo hash).
WINDOWS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, 0.5))  # (x, y): 0 = left/top, 1 = right/bottom
WINDOW = 0.94


def _fit(image: Image.Image, side: int, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """The image (or its box) resized to `side` pixels on the long side."""
    box = box or (0, 0, image.width, image.height)
    w, h = box[2] - box[0], box[3] - box[1]
    size = (max(1, round(w * side / max(w, h))), max(1, round(h * side / max(w, h))))
    return image.resize(size, Image.Resampling.BILINEAR, box=box, reducing_gap=2.0 if max(w, h) > 2 * side else None)


def _window_hashes(work: Image.Image) -> list[int]:
    w, h = work.size
    boxes = [(x * (1 - WINDOW) * w, y * (1 - WINDOW) * h, (x * (1 - WINDOW) + WINDOW) * w,
              (y * (1 - WINDOW) + WINDOW) * h) for x, y in WINDOWS]
    return [_phash_bits(np.asarray(work.resize((32, 32), Image.Resampling.LANCZOS, box=b), float)) for b in boxes]


def fingerprint(image: Image.Image) -> Fingerprint:
    """The hashes to store and to look up, and the signature that confirms a candidate."""
    base = image.convert("L")
    if max(base.size) > BASE_SIDE:
        base = _fit(base, BASE_SIDE)
    box = content_box(np.asarray(base, dtype=np.float32))
    work = _fit(base, WORK_SIDE, box)  # the photo without its bars
    trimmed = box != (0, 0, *base.size)
    whole = _orientations(_small(_fit(base, WORK_SIDE) if trimmed else work))
    index, query = [whole[0]], list(whole)
    if trimmed:
        cut = _orientations(_small(work))
        index.append(cut[0])
        query += cut
    windows = _window_hashes(work)
    index += windows
    query += windows

    scale = work.width / (box[2] - box[0])
    frame = (-box[0] * scale, -box[1] * scale, (base.width - box[0]) * scale - 1, (base.height - box[1]) * scale - 1)
    low = _DCT16 @ np.asarray(work.resize((64, 64), Image.Resampling.BILINEAR), dtype=np.float64) @ _DCT16.T
    points, bits = _keypoints(np.asarray(work, dtype=np.float32))
    signature = _encode(_Signature(work.size, frame, low > 0, points, bits))
    return Fingerprint(tuple(dict.fromkeys(index)), tuple(dict.fromkeys(query)), signature)


MIN_INLIERS = 12  # distinct photos never reach 5
MIN_SHARE = 0.5  # of the keypoints both photos show; a second shot of the same scene fits about a third
SAME_COVER = 0.75  # each photo shows at least this much of the other: one photo, cropped by up to ~13% a side
OVERLAP_COVER = 0.5
NEAR_DISTANCE = 6
NEAR_SIGNS = 40  # of 256; distinct photos measured 96 and more, re-encodes and recolours mostly under 10
WEAK_SIGNS = 80


def judge(new: Fingerprint, stored_index_hashes: Sequence[int], stored_signature: str) -> Verdict:
    """Duplicate (refuse), suspect (accept, flag) or distinct, for one candidate the lookup returned."""
    distance = min((hamming(q, s) for q in new.query_hashes for s in stored_index_hashes), default=64)
    if distance == 0 and new.signature == stored_signature:
        return Verdict("duplicate", 0, "same_image")
    c = compare_signatures(new.signature, stored_signature)
    confirmed = c.inliers >= MIN_INLIERS and c.share >= MIN_SHARE
    if confirmed and min(c.cover_new, c.cover_stored) >= SAME_COVER:
        return Verdict("duplicate", distance, "near_copy" if distance <= 4 else "crop_or_frame_confirmed")
    # Smooth or dark photos have few reliable corners: there the 256-bit sign hash must agree too.
    if distance <= NEAR_DISTANCE and c.sign_distance <= NEAR_SIGNS:
        return Verdict("duplicate", distance, "near_copy")
    if c.inliers >= MIN_INLIERS and max(c.cover_new, c.cover_stored) >= OVERLAP_COVER:
        return Verdict("suspect", distance, "overlapping_crop" if confirmed else "weak_match")
    # A pHash match alone happens by chance at a million photos: flag it only with some other sign.
    if distance <= CANDIDATE_DISTANCE and (c.inliers >= MIN_INLIERS // 2 or c.sign_distance <= WEAK_SIGNS):
        return Verdict("suspect", distance, "weak_match")
    return Verdict("distinct", distance, "no_match")
