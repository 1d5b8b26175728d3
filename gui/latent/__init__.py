"""The Latent explorer workspace: seeds, truncation, style mixing, directions, classes, bookmarks."""
