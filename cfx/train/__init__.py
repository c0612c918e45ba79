"""Training (`cfx train`, `cfx harden`): one loop, six trainers as its peers.

- :mod:`cfx.train.loop`: :func:`~cfx.train.loop.fit`, the one training loop (state,
  resume, checkpoint, time limit, JSON log, weights and card after every epoch, the DDP
  barrier, the report), and :class:`~cfx.train.loop.Trainer`, what a trainer supplies
  (its epoch of steps, validation, card).
- The trainers, each a :class:`~cfx.train.loop.Trainer` run by the loop:
  :mod:`~cfx.train.colorizer` (end to end, torchrun too), :mod:`~cfx.train.cached_colorizer`
  (pretrained encoder, cached features), :mod:`~cfx.train.detector` (torchrun too),
  :mod:`~cfx.train.cached_detector` (pretrained encoder, cached features) and
  :mod:`~cfx.train.harden_detector` (negative sample insertion, its rounds as the loop's
  epochs); :mod:`~cfx.train.harden_colorizer` picks hard cases and fine-tunes on them by
  running the colorizer trainer whole.
- What the trainers of one kind share: :mod:`~cfx.train.colorizer_parts` (Lab batches,
  validation, card) and :mod:`~cfx.train.detector_parts` (the detector recipe, the pairs'
  sources, balanced batches, loss, SGD schedule, scoring, metrics, card); no trainer takes
  pieces from another.
- What every trainer uses: :mod:`~cfx.train.recipes` (the colorizer and cached detector
  recipes, every default stated once; no torch), :mod:`~cfx.train.common` (seeds, log,
  precision, one optimizer step, starting weights), :mod:`~cfx.train.checkpoint`,
  :mod:`~cfx.train.distributed` and :mod:`~cfx.train.weight_average`.
"""
