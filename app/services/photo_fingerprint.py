"""Photo fingerprints (照片指纹): decide whether an uploaded photo is a copy of one already stored.

Two independent signals. Candidates come from 64-bit pHashes: of the photo as uploaded, of the photo
with flat borders and screenshot bars trimmed off, and of four 92% corner windows so that a crop still
finds its original; a query tries all 8 rotations/mirrors. Candidates are then confirmed from the
stored signature: corner keypoints with 128-bit intensity-comparison descriptors (BRIEF-like, on a
pattern closed under the 8 rotations/mirrors, so a signature can be turned without its pixels), which
must agree on one rotation+scale+shift carrying most of one photo onto most of the other, plus a 256-bit
sign hash of the low 16x16 DCT coefficients for photos too smooth to have keypoints.
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
    index_hashes: tuple[int, ...]  # pHashes to store: whole, trimmed, 4 windows (deduplicated)
    query_hashes: tuple[int, ...]  # pHashes to look up: 8 orientations of whole and trimmed, 4 windows
    signature: str  # keypoints + sign hash, see _encode


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
    probes = []
    for value, width in zip(bands(h), BAND_BITS, strict=True):
        ball = {value}
        for r in range(1, radius + 1):
            ball.update(value ^ sum(1 << b for b in bits) for bits in itertools.combinations(range(width), r))
        probes.append(ball)
    return probes[0], probes[1], probes[2]


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
TRIM_SHARE = 0.75  # the rest of a bar's line may be the clock, icons and labels
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
        near = (np.abs(lines[at:limit + gap] - colour) <= TRIM_TOLERANCE).mean(axis=1) >= TRIM_SHARE
        run = 0
        while run < len(near) and near[run:run + gap + 1].any():  # bridge a line of text or icons
            run += 1 + int(np.argmax(near[run:run + gap + 1]))
        if run == 0:
            break
        at += run
    return min(at, limit)


def content_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the photo inside flat borders or a phone's bars."""
    h, w = gray.shape
    boxes = []
    # Rows first finds a landscape photo in a portrait screenshot (whose columns look mostly flat);
    # columns first the converse. The right order is the one that keeps more of the photo.
    for order in ((True, False), (False, True)):
        left, top, right, bottom = 0, 0, w, h
        for rows in order:
            region = gray[top:bottom, left:right] if rows else gray[top:bottom, left:right].T
            start, end = _bar_depth(region), _bar_depth(region[::-1])
            if rows:
                top, bottom = top + start, bottom - end
            else:
                left, right = left + start, right - end
        if right - left >= TRIM_MIN_KEEP * w and bottom - top >= TRIM_MIN_KEEP * h:
            boxes.append((left, top, right, bottom))
    return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), default=(0, 0, w, h))


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


def _keypoints(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Harris corners, spread round-robin over a 4x4 grid (strongest first), and their 128 comparisons."""
    g = ndimage.gaussian_filter(gray, 1.0, truncate=3)
    ix, iy = ndimage.sobel(g, 1), ndimage.sobel(g, 0)
    a, b, c = (ndimage.gaussian_filter(v, 1.5, truncate=2.5) for v in (ix * ix, iy * iy, ix * iy))
    response = a * b - c * c - 0.05 * (a + b) ** 2
    peaks = (response == ndimage.maximum_filter(response, size=7)) & (response > 1e-4 * response.max())
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
    smooth = ndimage.gaussian_filter(gray, 2.0, truncate=2.5)
    p, q = _PAIRS[:, 0], _PAIRS[:, 1]
    bits = smooth[ys[:, None] + p[:, 1], xs[:, None] + p[:, 0]] < smooth[ys[:, None] + q[:, 1], xs[:, None] + q[:, 0]]
    return np.stack([xs, ys], axis=1).astype(float), bits


@dataclass(frozen=True)
class _Signature:
    size: tuple[int, int]  # the trimmed photo at working size: width, height
    frame: tuple[float, float, float, float]  # the untrimmed upload, in the same pixels (left, top, right, bottom)
    signs: np.ndarray  # (16, 16) bool: low DCT coefficients > 0
    points: np.ndarray  # (n, 2) keypoints, working pixels
    bits: np.ndarray  # (n, 128) bool

    def turned(self, g: int) -> _Signature:
        """The signature of the same photo turned by g."""
        w, h = self.size
        cx, cy = (w - 1) / 2, (h - 1) / 2
        size = (h, w) if g % 2 else (w, h)
        x, y = _turn(g, self.points[:, 0] - cx, self.points[:, 1] - cy)
        points = np.stack([x + (size[0] - 1) / 2, y + (size[1] - 1) / 2], axis=1)
        fx, fy = _turn(g, np.array(self.frame[::2]) - cx, np.array(self.frame[1::2]) - cy)
        fx, fy = fx + (size[0] - 1) / 2, fy + (size[1] - 1) / 2
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


@dataclass(frozen=True)
class Comparison:
    sign_distance: int  # of 256, in the best of the 8 turns
    inliers: int  # keypoint matches that fit one rotation+scale+shift
    share: float  # inliers / keypoints of the sparser photo that the other photo also shows
    cover_new: float  # share of the new photo showing the stored one, under that transform
    cover_stored: float  # and the converse (each with or without trimming, whichever covers more)


def _inside(z: np.ndarray, rect: tuple[float, float, float, float], margin: float = 0.0) -> np.ndarray:
    return (z.real >= rect[0] + margin) & (z.real <= rect[2] - margin) & \
        (z.imag >= rect[1] + margin) & (z.imag <= rect[3] - margin)


def _grid(rect: tuple[float, float, float, float]) -> np.ndarray:
    u = np.linspace(0.03, 0.97, 16)
    return (rect[0] + u * (rect[2] - rect[0]))[None, :] + 1j * (rect[1] + u * (rect[3] - rect[1]))[:, None]


def _geometry(a: _Signature, b: _Signature) -> tuple[int, float, float, float]:
    """Best similarity transform between matched keypoints: (inliers, share, cover of a, cover of b)."""
    if len(a.bits) < 3 or len(b.bits) < 3:
        return 0, 0.0, 0.0, 0.0
    pa, pb = np.packbits(a.bits, axis=1).view(np.uint64), np.packbits(b.bits, axis=1).view(np.uint64)
    dist = np.bitwise_count(pa[:, None, :] ^ pb[None, :, :]).sum(axis=2)
    near_b, near_a = dist.argmin(axis=1), dist.argmin(axis=0)
    ia = np.nonzero((near_a[near_b] == np.arange(len(pa))) & (dist.min(axis=1) <= MAX_DESCRIPTOR_BITS))[0]
    if len(ia) < 3:
        return 0, 0.0, 0.0, 0.0
    # Work in units of each photo's long side, so one tolerance fits photos of any size.
    za, zb = (a.points[ia] @ [1, 1j]) / max(a.size), (b.points[near_b[ia]] @ [1, 1j]) / max(b.size)
    i, j = np.triu_indices(len(za), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (zb[j] - zb[i]) / (za[j] - za[i])  # rotation and scale from each pair of matches
    ok = np.isfinite(s) & (np.abs(s) > 0.6) & (np.abs(s) < 1.7) & (np.abs(np.angle(s)) < np.radians(8))
    if not ok.any():
        return 0, 0.0, 0.0, 0.0
    s, t = s[ok], (zb[i] - s * za[i])[ok]
    fits = np.abs(s[:, None] * za[None, :] + t[:, None] - zb[None, :]) < INLIER_TOLERANCE
    inlier = fits[int(fits.sum(axis=1).argmax())]
    da, db = za[inlier] - za[inlier].mean(), zb[inlier] - zb[inlier].mean()
    s = (np.conj(da) @ db) / (np.conj(da) @ da)  # least squares over the inliers
    t = zb[inlier].mean() - s * za[inlier].mean()
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
    best = max((_geometry(t, b) for t in turns), key=lambda r: (r[0], r[1]))
    return Comparison(sign_distance, *best)


# ---- fingerprint and verdict -------------------------------------------------------------------------------
BASE_SIDE = 512  # the photo is trimmed and windowed at most this big
WINDOW = 0.92


def _fit(image: Image.Image, side: int) -> Image.Image:
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0 if scale < 0.5 else None)


def fingerprint(image: Image.Image) -> Fingerprint:
    base = image.convert("L")
    if max(base.size) > BASE_SIDE:
        base = _fit(base, BASE_SIDE)
    left, top, right, bottom = content_box(np.asarray(base, dtype=np.float32))
    trimmed = base.crop((left, top, right, bottom))

    whole = _orientations(_small(base))
    index, query = [whole[0]], list(whole)
    if trimmed.size != base.size:
        cut = _orientations(_small(trimmed))
        index.append(cut[0])
        query += cut
    w, h = trimmed.size
    ww, wh = round(w * WINDOW), round(h * WINDOW)
    windows = [_phash_bits(_small(trimmed.crop((x, y, x + ww, y + wh)))) for x in (0, w - ww) for y in (0, h - wh)]
    index += windows
    query += windows

    work = _fit(trimmed, WORK_SIDE)
    scale = work.width / trimmed.width
    frame = (-left * scale, -top * scale, (base.width - left) * scale - 1, (base.height - top) * scale - 1)
    low = _DCT16 @ np.asarray(work.resize((64, 64), Image.Resampling.BILINEAR), dtype=np.float64) @ _DCT16.T
    points, bits = _keypoints(np.asarray(work, dtype=np.float32))
    signature = _encode(_Signature(work.size, frame, low > 0, points, bits))
    return Fingerprint(tuple(dict.fromkeys(index)), tuple(dict.fromkeys(query)), signature)


MIN_INLIERS = 12


def judge(new: Fingerprint, stored_index_hashes: Sequence[int], stored_signature: str) -> Verdict:
    distance = min(hamming(q, s) for q in new.query_hashes for s in stored_index_hashes)
    if distance == 0 and new.signature == stored_signature:
        return Verdict("duplicate", 0, "same_image")
    c = compare_signatures(new.signature, stored_signature)
    if c.inliers >= MIN_INLIERS and c.share >= 0.5 and min(c.cover_new, c.cover_stored) >= 0.75:
        return Verdict("duplicate", distance, "near_copy" if distance <= 4 else "crop_or_frame_confirmed")
    if distance <= 6 and c.sign_distance <= 40:
        return Verdict("duplicate", distance, "near_copy")
    if c.inliers >= MIN_INLIERS and max(c.cover_new, c.cover_stored) >= 0.5:
        return Verdict("suspect", distance, "overlapping_crop")
    if distance <= CANDIDATE_DISTANCE:
        return Verdict("suspect", distance, "weak_match")
    return Verdict("distinct", distance, "no_match")
