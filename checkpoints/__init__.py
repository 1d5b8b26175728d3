"""Package data: the starter models (manifest.json + weights); see engine.resources."""
