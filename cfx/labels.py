"""Labels shared by the detectors, the evaluators and the reports (no torch).

A detector has two classes, in index order: natural (0) and colorized (1); the
cross-entropy of Quan et al. (2019), §III-B, Eq. 1, is over them. `cfx detect` labels an
image with one of them, or ``grayscale`` when the image has no colour to judge. The rows
of `cfx eval colorizer` add the grayscale baseline (the true L*, a*b* = 0), with
``--hints N`` the bilateral baseline (the same points spread without learning) and, with
a detector, the ground truth itself.
"""

from __future__ import annotations

NATURAL, COLORIZED = "natural", "colorized"
CLASSES = (NATURAL, COLORIZED)  # a detector's output classes, in index order
NATURAL_INDEX, COLORIZED_INDEX = CLASSES.index(NATURAL), CLASSES.index(COLORIZED)
GRAYSCALE = "grayscale"  # cfx detect's label for a gray input; the grayscale baseline's row in cfx eval colorizer
BILATERAL = "bilateral baseline"  # cfx eval colorizer --hints: the points spread by cfx.hint_baseline (no learning)
GROUND_TRUTH = "ground truth"  # cfx eval colorizer's rows for the true photo (only with a detector)
