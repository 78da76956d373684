"""Real photographs for the duplicate-photo tests, and the copies people make of them.

The photos are the camera pictures that scikit-image, scikit-learn and matplotlib ship (offline); the
evaluation adds the camera photos of Debian's wallpaper packages when they are installed. Every copy is
deterministic for its photo and seed and is returned as the bytes a phone would upload.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

# Camera photographs only: no text pages, checkerboards, logos, microscopy or renderings.
_SKIMAGE = ("astronaut", "camera", "chelsea", "coffee", "coins", "moon", "rocket", "hubble_deep_field",
            "brick", "grass", "gravel")

# Camera photos among the wallpapers of lomiri-wallpapers-16.04, mate-backgrounds and
# plasma-workspace-wallpapers (the abstract and rendered ones are left out).
WALLPAPERS = (
    "/usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg",
    "/usr/share/backgrounds/Dragonfly_by_Bolly.jpg",
    "/usr/share/backgrounds/Picture_0B_by_freespace.jpg",
    "/usr/share/backgrounds/Picture_1A_by_freespace.jpg",
    "/usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg",
    "/usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg",
    "/usr/share/backgrounds/free_by_Peter_Nerlich.jpg",
    "/usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg",
    "/usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg",
    "/usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg",
    "/usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "/usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
    "/usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg",
    *(f"/usr/share/backgrounds/mate/nature/{name}.jpg" for name in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")),
    *(f"/usr/share/wallpapers/{name}/contents/images/{size}.jpg" for name, size in (
        ("BytheWater", "2560x1600"), ("ColdRipple", "2560x1600"), ("ColorfulCups", "2560x1600"),
        ("DarkestHour", "2560x1600"), ("EveningGlow", "2560x1600"), ("FallenLeaf", "2560x1600"),
        ("Grey", "2560x1600"), ("Kite", "2560x1600"), ("OneStandsOut", "2560x1600"), ("Path", "2560x1600"),
        ("summer_1am", "2560x1600"))),
)


@cache
def library_photos() -> dict[str, Image.Image]:
    """The offline library photographs, name -> RGB image (15 photos)."""
    import matplotlib.cbook
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = {name: Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in _SKIMAGE}
    photos["motorcycle"] = Image.fromarray(skimage.data.stereo_motorcycle()[0])
    china, flower = load_sample_images().images
    photos["china"], photos["flower"] = Image.fromarray(china), Image.fromarray(flower)
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as grace:
        photos["grace_hopper"] = grace.convert("RGB")
    return photos


def wallpaper_photos(max_side: int = 1600) -> dict[str, Image.Image]:
    """The installed wallpaper camera photos (for the evaluation), shrunk to a phone-upload size."""
    photos = {}
    for path in map(Path, WALLPAPERS):
        if path.exists():
            with Image.open(path) as image:
                image.draft("RGB", (max_side, max_side))
                image = image.convert("RGB")
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            name = path.parts[4] if path.parts[3] == "wallpapers" else path.stem.split("_by_")[0]
            photos[name] = image
    return photos


def scene_photo() -> Image.Image:
    """A second shot of the motorcycle scene: the other camera of a stereo pair, a hand's width away."""
    import skimage.data

    return Image.fromarray(skimage.data.stereo_motorcycle()[1])


def jpeg(image: Image.Image, quality: int = 90, exif_orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    if exif_orientation:
        exif[0x0112] = exif_orientation  # Orientation
    image.convert("RGB").save(out, "JPEG", quality=quality, exif=exif.tobytes() if exif_orientation else b"")
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# The pixels a camera stores for each EXIF orientation, so that exif_transpose shows the upright photo.
_STORED_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def exif_rotated_twin(image: Image.Image, orientation: int = 6) -> bytes:
    """The same photo as a phone held sideways stores it: rotated pixels plus an EXIF orientation tag."""
    return jpeg(image.transpose(_STORED_FOR_ORIENTATION[orientation]), exif_orientation=orientation)


# ---- copies -----------------------------------------------------------------------------------------------
# Each copy takes the photo and a seeded Random and returns the uploaded bytes.
Copy = Callable[[Image.Image, random.Random], bytes]


def _resized(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def wechat(image: Image.Image, long_side: int = 1280, quality: int = 75) -> bytes:
    """What WeChat sends when 原图 is off: long side at most 1280 px, JPEG quality about 75."""
    factor = min(1.0, long_side / max(image.size))
    return jpeg(_resized(image, factor), quality)


def crop(image: Image.Image, keep_w: float, keep_h: float, at_x: float, at_y: float) -> Image.Image:
    """Keep `keep_w` x `keep_h` of the photo; `at_x`/`at_y` in [0, 1] place the window (0 = left/top)."""
    w, h = round(image.width * keep_w), round(image.height * keep_h)
    x, y = round((image.width - w) * at_x), round((image.height - h) * at_y)
    return image.crop((x, y, x + w, y + h))


def light_crop(image: Image.Image, rng: random.Random) -> bytes:
    """5-10% cut off the width and off the height, the window anywhere."""
    return jpeg(crop(image, 1 - rng.uniform(0.05, 0.10), 1 - rng.uniform(0.05, 0.10), rng.random(), rng.random()))


def small_crop(image: Image.Image, rng: random.Random) -> bytes:
    """Up to 3% trimmed off the width and height."""
    return jpeg(crop(image, 1 - rng.uniform(0.01, 0.03), 1 - rng.uniform(0.01, 0.03), rng.random(), rng.random()))


def straightened(image: Image.Image, rng: random.Random) -> bytes:
    """A phone editor's straighten tool: rotate by 1-3° either way and crop away the empty corners."""
    degrees = rng.choice((-1, 1)) * rng.uniform(1.0, 3.0)
    rotated = image.rotate(degrees, Image.Resampling.BICUBIC)
    a = np.radians(abs(degrees))
    w, h = image.size
    scale = min(w / (w * np.cos(a) + h * np.sin(a)), h / (h * np.cos(a) + w * np.sin(a)))
    return jpeg(crop(rotated, scale, scale, 0.5, 0.5))


def tilted(image: Image.Image, rng: random.Random) -> bytes:
    """Rotated by 1-3° either way in the same frame, the corners filled with black."""
    return jpeg(image.rotate(rng.choice((-1, 1)) * rng.uniform(1.0, 3.0), Image.Resampling.BICUBIC))


def bordered(image: Image.Image, rng: random.Random) -> bytes:
    """A uniform frame, 4-12% of the short side, in white, black or a colour."""
    colour = rng.choice(((255, 255, 255), (0, 0, 0), (238, 226, 205), (40, 60, 90)))
    return jpeg(ImageOps.expand(image, round(min(image.size) * rng.uniform(0.04, 0.12)), colour))


def squared(image: Image.Image, rng: random.Random) -> bytes:
    """Padded to a square with plain bars, as apps do for a square post."""
    side = max(image.size)
    canvas = Image.new("RGB", (side, side), rng.choice(((255, 255, 255), (0, 0, 0))))
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return jpeg(canvas)


def screenshot(image: Image.Image, rng: random.Random) -> bytes:
    """A phone screenshot of the photo: status bar, app bars with text and icons, the photo fit to width."""
    width, height = 720, 1560
    dark = rng.random() < 0.5  # the full-screen viewer (black) or a chat/moments page (light)
    background, ink = ((0, 0, 0), (235, 235, 235)) if dark else ((237, 237, 237), (25, 25, 25))
    screen = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(screen)
    font = ImageFont.load_default(size=26)
    status = 54
    draw.text((28, 12), f"{rng.randint(7, 22)}:{rng.randint(0, 59):02d}", fill=ink, font=font)
    for i, bar in enumerate((8, 12, 16, 20)):  # signal strength
        draw.rectangle((560 + 9 * i, 40 - bar, 565 + 9 * i, 40), fill=ink)
    draw.rectangle((620, 20, 672, 40), outline=ink, width=2)
    draw.rectangle((624, 24, 624 + rng.randint(10, 44), 36), fill=ink)  # battery
    top = status
    if not dark:  # an app's title bar
        draw.text((30, top + 20), "<", fill=ink, font=font)
        draw.text((250, top + 22), rng.choice(("Moments", "Chat", "Album")), fill=ink, font=font)
        top += 88
    photo = _resized(image, width / image.width)
    if photo.height > height - top - 200:
        photo = _resized(image, (height - top - 200) / image.height)
    free = height - top - 160 - photo.height
    y = top + (free // 2 if dark else rng.randint(0, max(0, free // 3)))
    screen.paste(photo, ((width - photo.width) // 2, y))
    if not dark:
        draw.text((30, y + photo.height + 16), "Sorted the recycling today #green", fill=ink, font=font)
    for i in range(4):  # the bottom bar's icons and labels
        x = 70 + 170 * i
        draw.ellipse((x, height - 120, x + 40, height - 80), outline=ink, width=3)
        draw.text((x - 6, height - 70), ("Home", "Chat", "Find", "Me")[i], fill=ink, font=font)
    return png(screen) if rng.random() < 0.5 else jpeg(screen, 85)


def _recolour(image: Image.Image, rng: random.Random) -> Image.Image:
    kind = rng.choice(("brightness", "contrast", "saturation", "grayscale", "warm", "gamma"))
    if kind == "brightness":
        return ImageEnhance.Brightness(image).enhance(rng.choice((0.75, 1.25)))
    if kind == "contrast":
        return ImageEnhance.Contrast(image).enhance(rng.choice((0.7, 1.35)))
    if kind == "saturation":
        return ImageEnhance.Color(image).enhance(rng.choice((0.3, 1.6)))
    if kind == "grayscale":
        return ImageOps.grayscale(image).convert("RGB")
    if kind == "warm":
        r, g, b = image.split()
        return Image.merge("RGB", (r.point(lambda v: min(255, v * 1.12)), g, b.point(lambda v: v * 0.85)))
    gamma = rng.choice((0.7, 1.4))
    return image.point(lambda v: round(255 * (v / 255) ** gamma))


# Families of copies: name -> (benign?, copy). Benign copies must be refused; the hard ones refused or flagged.
BENIGN: dict[str, Copy] = {
    "exact copy": lambda image, rng: jpeg(image, 92),
    "re-encoded (q 40-95)": lambda image, rng: jpeg(image, rng.choice((40, 60, 75, 95))),
    "resized (30-80%)": lambda image, rng: jpeg(_resized(image, rng.uniform(0.3, 0.8)), 85),
    "WeChat (1280 px, q75)": lambda image, rng: wechat(_resized(image, 2.0) if max(image.size) < 1280 else image),
    "recoloured / brightness / contrast": lambda image, rng: jpeg(_recolour(image, rng)),
    "mirrored": lambda image, rng: jpeg(image.transpose(rng.choice(
        (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM)))),
    "rotated 90/180/270": lambda image, rng: jpeg(image.transpose(rng.choice(
        (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)))),
    "EXIF-rotated twin": lambda image, rng: exif_rotated_twin(image, rng.choice((3, 6, 8))),
    "small crop (1-3%)": small_crop,
}
HARD: dict[str, Copy] = {
    "crop 5-10%": light_crop,
    "straightened ±1-3° (cropped)": straightened,
    "tilted ±1-3° (black corners)": tilted,
    "uniform border": bordered,
    "padded to square": squared,
    "screenshot with UI bars": screenshot,
}


def copies_of(image: Image.Image, family: Copy, seed: int, count: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [family(image, rng) for _ in range(count)]


def scene_crops(image: Image.Image) -> list[tuple[str, Image.Image, Image.Image, bool]]:
    """Pairs of different crops of one photo: (what, a, b, heavily overlapping?).

    Halves and thirds share nothing or little: they are different photos. The 75% windows share two
    thirds of their area: that is one photo cropped twice, which we flag rather than refuse.
    """
    return [
        ("left half / right half", crop(image, 0.5, 1, 0, 0), crop(image, 0.5, 1, 1, 0), False),
        ("top half / bottom half", crop(image, 1, 0.5, 0, 0), crop(image, 1, 0.5, 0, 1), False),
        ("left 60% / right 60%", crop(image, 0.6, 1, 0, 0), crop(image, 0.6, 1, 1, 0), False),
        ("quarter / opposite quarter", crop(image, 0.5, 0.5, 0, 0), crop(image, 0.5, 0.5, 1, 1), False),
        ("left 75% / right 75%", crop(image, 0.75, 1, 0, 0), crop(image, 0.75, 1, 1, 0), True),
    ]
