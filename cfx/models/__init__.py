"""Model architectures; each module registers its presets in :mod:`cfx.registry`."""
