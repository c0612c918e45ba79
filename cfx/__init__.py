"""cfx: automatic image colorization and detection of machine-colorized images.

Importing ``cfx`` is cheap (no torch); the library entry points import what they need:

    from cfx.colorize import load_colorizer
    from cfx.registry import create_model, list_models
"""

__version__ = "0.1.0"
