"""Training loops (`cfx train`, `cfx harden`); the recipes of the colorizer and cached
detector trainers, with every default they use, are in :mod:`cfx.train.recipes`."""
