"""Limits cfx applies to what it reads, in one place (importable without numpy or torch).

:data:`MAX_PIXELS` is cfx's own limit on an image's pixels (width × height), checked from
the file's header before any pixel is decoded: a decompression bomb (a small file that
claims a huge size) is refused, and so is a scan larger than this unless the run raises
the limit (``--max-pixels N`` on colorize, detect and transfer). Pillow's own bomb limit
is raised to match whenever cfx's is higher, so cfx's is the one that applies.
"""

from __future__ import annotations

MAX_PIXELS = 200_000_000  # 200 MP: a 600 dpi scan of an A3 print (7016 x 9921) is 70 MP
