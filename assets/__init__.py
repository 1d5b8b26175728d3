"""Package data: label sets (labelsets/*.json) and other assets; see engine.resources."""
