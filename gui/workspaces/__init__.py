"""The workspace contract (:mod:`gui.workspaces.base`) and the table of workspaces the window builds
(:mod:`gui.workspaces.table`)."""
