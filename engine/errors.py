"""Errors that reach the user.

Every error the engine raises on purpose is an :class:`EngineError`; its message is written
for a person (what happened, and what to do about it). The GUI shows ``str(error)`` as is.
"""

from __future__ import annotations

import concurrent.futures


class EngineError(Exception):
    """Base class of all errors the engine reports to the user."""


class CheckpointError(EngineError):
    """A checkpoint file is missing, unreadable, corrupt, or of the wrong kind."""


class UnknownFormatError(CheckpointError):
    """A checkpoint file was read but matches no format the app knows."""


class MissingOptionError(CheckpointError):
    """A checkpoint needs an option (e.g. ``label_nc``) that the file itself cannot tell.

    ``option`` names the option; pass it in a sidecar JSON next to the checkpoint or on the
    command line. ``question`` (an :class:`engine.open_options.OptionsQuestion`, optional) lists
    every option the file leaves open, with what the weights allow, for the GUI's options dialog.
    """

    def __init__(self, message: str, option: str, question: object | None = None):
        super().__init__(message)
        self.option = option
        self.question = question


class OptionValueError(CheckpointError):
    """A loading option has a value that is not one of its accepted words or not a number.

    ``option`` names the option; the message lists the accepted values.
    """

    def __init__(self, message: str, option: str):
        super().__init__(message)
        self.option = option


class UnsafePickleError(CheckpointError):
    """A pickle asked for something the restricted unpickler does not allow (code, unknown classes)."""


class ImageReadError(EngineError):
    """An image file cannot be read (missing, not an image, truncated, unsupported)."""


class InputError(EngineError):
    """A request carries inputs the model cannot use (wrong size, values out of range, ...)."""


class DeviceError(EngineError):
    """The requested compute device is not available."""


class EngineShutdownError(EngineError):
    """A request was submitted after the engine was shut down."""


class Cancelled(concurrent.futures.CancelledError):
    """A job was cancelled (by the user, or because a newer request replaced it).

    Subclasses :class:`concurrent.futures.CancelledError` so code that waits on a Future
    handles both queued cancellations and cooperative cancellation of a running job alike.
    """


class DocumentError(EngineError):
    """A document file (.ora) cannot be opened or saved: damaged, truncated, too large, or unwritable."""
