"""Model loading: one entry point (:func:`load_model`), one module per foreign format."""

from engine.loaders.detect import load_model

__all__ = ["load_model"]
