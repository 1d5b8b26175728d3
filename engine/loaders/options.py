"""Reading the options a user gives a loader: one vocabulary for every format.

Options arrive as official option names mapped to values from a sidecar JSON, an official
``opt.txt``, the GUI's options dialog or ``--option KEY=VALUE`` on the command line, so a value
may be a Python bool/int/float or a string. Every loader reads them through these functions:

* booleans: ``True``/``False``, the integers 1/0, or one of the words in :data:`TRUE_WORDS` /
  :data:`FALSE_WORDS` (any case, surrounding spaces ignored);
* whole numbers: an int, a float without a fractional part, or a string that parses as one
  (a bool is not a number);
* numbers: an int, a float, or a string that parses as one;
* choices: one of the given words (compared in lower case).

An option that is absent or ``None`` reads as the ``default``. Any other value that does not
fit is an :class:`OptionValueError` naming the option and the accepted values: a typo never
reads silently as False.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence, TypeVar

from engine.errors import OptionValueError

TRUE_WORDS: tuple[str, ...] = ("true", "yes", "on", "1")
FALSE_WORDS: tuple[str, ...] = ("false", "no", "off", "0")

T = TypeVar("T")


def _given(options: Mapping[str, Any], name: str) -> bool:
    return options.get(name) is not None


def _refuse(name: str, value: Any, expected: str) -> OptionValueError:
    return OptionValueError(
        f"The option {name}={value!r} must be {expected}. Fix it in the options dialog, the sidecar "
        "JSON next to the model, or on the command line.",
        option=name,
    )


def to_bool(value: Any, name: str) -> bool:
    """``value`` of option ``name`` as a bool (see the module docstring for the vocabulary)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    words = "/".join(TRUE_WORDS) + " or " + "/".join(FALSE_WORDS)
    raise _refuse(name, value, f"true or false ({words})")


def to_int(value: Any, name: str) -> int:
    """``value`` of option ``name`` as a whole number."""
    if isinstance(value, bool):
        raise _refuse(name, value, "a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise _refuse(name, value, "a whole number") from None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise _refuse(name, value, "a whole number")


def to_float(value: Any, name: str) -> float:
    """``value`` of option ``name`` as a finite number."""
    if isinstance(value, bool):
        raise _refuse(name, value, "a number")
    try:
        result = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise _refuse(name, value, "a number") from None
    if not math.isfinite(result):
        raise _refuse(name, value, "a finite number")
    return result


def to_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` of option ``name`` as one of ``choices`` (lower-case words), lower-cased."""
    word = str(value).strip().lower() if isinstance(value, (str, int, float)) else None
    if word in choices:
        return word
    raise _refuse(name, value, "one of " + ", ".join(choices))


def read_bool(options: Mapping[str, Any], name: str, default: T = None) -> bool | T:
    """Option ``name`` as a bool, or ``default`` when it is not given."""
    return to_bool(options[name], name) if _given(options, name) else default


def read_int(options: Mapping[str, Any], name: str, default: T = None) -> int | T:
    """Option ``name`` as a whole number, or ``default`` when it is not given."""
    return to_int(options[name], name) if _given(options, name) else default


def read_float(options: Mapping[str, Any], name: str, default: T = None) -> float | T:
    """Option ``name`` as a number, or ``default`` when it is not given."""
    return to_float(options[name], name) if _given(options, name) else default


def read_choice(options: Mapping[str, Any], name: str, choices: Sequence[str], default: T = None) -> str | T:
    """Option ``name`` as one of ``choices`` (lower-case words), or ``default`` when not given."""
    return to_choice(options[name], name, choices) if _given(options, name) else default


def read_text(options: Mapping[str, Any], name: str) -> str:
    """Option ``name`` as stripped lower-case text ("" when not given), for options whose
    vocabulary is open (e.g. ``netG=resnet_9blocks``) and is interpreted by the caller."""
    return str(options[name]).strip().lower() if _given(options, name) else ""
