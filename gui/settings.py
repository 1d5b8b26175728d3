"""Persistent app settings (QSettings): window geometry and dock layout, recent files, last folders,
autosave (interval, recovery folder) and the undo history's bounds.

The app name and organisation set in gui/app.py decide where QSettings stores them; tests pass
their own ``QSettings(path, QSettings.IniFormat)``.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT_FILES = 10
DEFAULT_AUTOSAVE_MINUTES = 5.0
DEFAULT_UNDO_STEPS = 200
DEFAULT_UNDO_MEGABYTES = 1024.0
MODEL_EXTENSIONS = (".safetensors", ".pth", ".pt", ".bin", ".pkl", ".ckpt")


def is_model_path(path: str) -> bool:
    """True for checkpoint files and folders (models), False for images."""
    return os.path.isdir(path) or path.lower().endswith(MODEL_EXTENSIONS)


class AppSettings:
    """Typed access to the app's QSettings."""

    def __init__(self, settings: QSettings | None = None):
        self.qsettings = settings if settings is not None else QSettings()

    # ------------------------------------------------------------------ window

    def window_geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)
        self.qsettings.sync()

    def current_workspace(self) -> str:
        """The KEY of the workspace shown last ("image" for the Image view; "" when none was saved)."""
        return str(self.qsettings.value("window/workspace", "") or "")

    def hidden_workspace_panels(self) -> set[str]:
        """Titles of workspace panels the user closed while their workspace was shown."""
        value = self.qsettings.value("window/hidden_panels", [])
        if isinstance(value, str):
            value = [value] if value else []
        return {str(v) for v in (value or [])}

    def save_workspace(self, key: str, hidden_panels: set[str]) -> None:
        self.qsettings.setValue("window/workspace", key)
        self.qsettings.setValue("window/hidden_panels", sorted(hidden_panels))
        self.qsettings.sync()

    # ------------------------------------------------------------------ recent files

    def recent_files(self) -> list[str]:
        """Most recent first; both images and models (see :func:`is_model_path`)."""
        value = self.qsettings.value("recent/files", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list (ini)
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent_file(self, path: str) -> list[str]:
        path = os.path.abspath(path)
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT_FILES]
        self.qsettings.setValue("recent/files", files)
        self.qsettings.sync()
        return files

    def remove_recent_file(self, path: str) -> None:
        self.qsettings.setValue("recent/files", [p for p in self.recent_files() if p != path])
        self.qsettings.sync()

    def clear_recent_files(self) -> None:
        self.qsettings.setValue("recent/files", [])
        self.qsettings.sync()

    # ------------------------------------------------------------------ folders

    def last_folder(self, kind: str) -> str:
        """The folder a file dialog of ``kind`` ("image", "model", "save") last used."""
        value = self.qsettings.value(f"folders/{kind}", "")
        return str(value) if value and os.path.isdir(str(value)) else os.path.expanduser("~")

    def set_last_folder(self, kind: str, path: str) -> None:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        self.qsettings.setValue(f"folders/{kind}", folder)

    def models_folder(self) -> str:
        """The user's own models folder (listed in the Models panel beside the shipped models); "" when unset."""
        value = self.qsettings.value("models/folder", "")
        return str(value) if value else ""

    def set_models_folder(self, path: str) -> None:
        self.qsettings.setValue("models/folder", path)
        self.qsettings.sync()

    def load_starters(self) -> bool:
        """Whether the shipped starter models load at start when no model is given (default on)."""
        value = self.qsettings.value("models/load_starters", True)
        return str(value).lower() not in ("false", "0", "no")

    # ------------------------------------------------------------------ autosave and undo

    def autosave_minutes(self) -> float:
        """Minutes between autosaves; 0 turns autosave off."""
        return max(0.0, self._float("autosave/minutes", DEFAULT_AUTOSAVE_MINUTES))

    def recovery_folder(self) -> str:
        """Where autosaves go: the ``autosave/folder`` setting, else AppDataLocation/recovery."""
        value = self.qsettings.value("autosave/folder", "")
        if value:
            return str(value)
        from PySide6.QtCore import QStandardPaths

        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        return os.path.join(base or os.path.expanduser("~/.gan-studio"), "recovery")

    def undo_steps(self) -> int:
        """Most undo steps kept (0 = no limit)."""
        return max(0, int(self._float("undo/steps", DEFAULT_UNDO_STEPS)))

    def undo_megabytes(self) -> float:
        """Most pixel memory the undo history keeps (MB; 0 = no limit)."""
        return max(0.0, self._float("undo/megabytes", DEFAULT_UNDO_MEGABYTES))

    # ------------------------------------------------------------------ helpers

    def _float(self, key: str, default: float) -> float:
        try:
            return float(self.qsettings.value(key, default))
        except (TypeError, ValueError):
            return default

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key)
        if isinstance(value, QByteArray) and not value.isEmpty():
            return value
        if isinstance(value, (bytes, bytearray)) and value:
            return QByteArray(bytes(value))
        return None
