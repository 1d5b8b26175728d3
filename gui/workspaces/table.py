"""The workspaces the main window builds, in dock order.

A loaded model goes to the first workspace here whose ``accepts`` takes it. Adding a workspace
is writing its package (a :class:`gui.workspaces.base.Workspace` subclass with its view and panels)
and one entry here.
"""

from gui.inpaint.workspace import InpaintWorkspaceController
from gui.latent.workspace import LatentWorkspaceController
from gui.paint.workspace import PaintWorkspaceController
from gui.train.workspace import TrainWorkspace
from gui.upscale.workspace import UpscaleWorkspaceController

WORKSPACES = (
    PaintWorkspaceController,
    LatentWorkspaceController,
    InpaintWorkspaceController,
    UpscaleWorkspaceController,
    TrainWorkspace,
)
