"""The Upscale workspace: super-resolve the document image (or a folder) with ESRGAN-family models."""
