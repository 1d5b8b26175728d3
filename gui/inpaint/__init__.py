"""The Inpaint workspace: mask part of the document image and let a model fill it."""
