"""The Train workspace: set up, start, watch, stop and resume training runs, and open their models.

recipes (families, presets, options), session (the model: runs folder, watched run, processes),
process (the run process), curves (the loss plot), panel (the Train dock), view (runs and the
watched run), workspace (the Workspace subclass).
"""
