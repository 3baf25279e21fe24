"""Reading settings.json: every value checked, nothing the user set is thrown away silently.

Before, a damaged settings file was silently replaced by the defaults (custom hotkeys, voice and model
gone at the next save), and a value of the wrong type (`"hotkeys": "x"`, `"model": 5`, `"voice": ["x"]`)
crashed `gui` and `say` or killed the app's worker thread with nothing reported. Now `load_settings`:

- keeps a file that cannot be read as settings (not JSON, not an object, or any value of the wrong type)
  aside as `settings.json.damaged-<time>` before anything can overwrite it;
- uses each valid value, and the default for each invalid one (a hotkey table keeps its valid entries);
- puts one `LoadNote` per problem in `settings.load_notes`: a short sentence the app says at start ("a
  copy is kept in the settings folder": a whole path takes seconds to hear), and the same sentence with
  the kept copy's whole path, which the app shows on its status line, the log records and the command
  line prints on stderr (once, for every command: describe_aloud.cli.main).

Plain Python, no Qt; called on whichever thread loads the settings.
"""
from __future__ import annotations

import glob
import json
import logging
import time
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from describe_aloud.engine.i18n import _
from describe_aloud.engine.text_safety import printable_path

log = logging.getLogger(__name__)

_MAX_SETTINGS_BYTES = 1 << 20


@dataclass(frozen=True)
class LoadNote:
    """A problem met loading the settings: `said` is short (spoken, announced), `written` names the kept
    copy by its whole path (shown, printed, logged)."""

    said: str
    written: str

    def __str__(self) -> str:
        return self.written


def _valid(default: Any, value: Any, name: str) -> bool:
    """True when `value` has the type the field's default has (None allowed where the default is None)."""
    if name == "voice":
        return value is None or isinstance(value, str)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # no NaN
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, dict):
        return isinstance(value, dict)
    return default is None or isinstance(value, type(default))


def _default(f) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def keep_aside(path: Path) -> Path | None:
    """Copy `path` to `<name>.damaged-<time>` (the original stays until a save replaces it). The same file
    is kept once: the app and every command load it again (two copies a start, one a command, before), and
    a copy of another content is never written over."""
    try:
        content = path.read_bytes()
        for earlier in sorted(path.parent.glob(glob.escape(path.name) + ".damaged-*")):
            if earlier.is_file() and earlier.stat().st_size == len(content) and earlier.read_bytes() == content:
                return earlier
        stem = f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        kept, n = path.with_name(stem), 1
        while kept.exists():
            n += 1
            kept = path.with_name(f"{stem}-{n}")
        kept.write_bytes(content)
    except OSError:  # the user is told in the load note; the traceback only in the debug log
        log.info("could not keep the damaged settings file aside", exc_info=True)
        return None
    return kept


def load_settings(cls: type, path: Path, default_hotkeys: dict[str, str]) -> Any:
    """A `cls` (engine.config.Settings) from `path`; see the module docstring."""
    notes: list[str] = []
    settings = cls()
    try:
        if path.stat().st_size > _MAX_SETTINGS_BYTES:
            raise ValueError("too large")
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return settings
    except (OSError, ValueError) as exc:
        log.debug("settings file unreadable: %r", exc)  # the technical detail; the user gets the sentence
        raw = None
    if not isinstance(raw, dict):
        bad = ["*"]
    else:
        values, bad = checked_values(cls, raw, default_hotkeys)
        for name, value in values.items():
            setattr(settings, name, value)
    if bad:
        kept = keep_aside(path)
        where = printable_path(kept if kept is not None else path)
        log.info("settings file %s could not be used (%s); %s", printable_path(path), ", ".join(bad),
                 f"kept as {where}" if kept is not None else "no copy could be kept")
        if kept is None:  # no copy (a full disk, a read-only folder): say so, and what saving would do
            notes.append(_uncopied_note(bad, where))
        elif bad == ["*"]:
            notes.append(LoadNote(
                _("Your settings file could not be read, so the default settings are used. A copy of it is "
                  "kept in the settings folder."),
                _("Your settings file could not be read, so the default settings are used. A copy of it is "
                  "kept as {path}.").format(path=where)))
        else:
            names = ", ".join(bad)
            notes.append(LoadNote(
                _("Some settings had values that cannot be used ({names}); their defaults are used. A copy of "
                  "the file as it was is kept in the settings folder.").format(names=names),
                _("Some settings had values that cannot be used ({names}); their defaults are used. A copy of "
                  "the file as it was is kept as {path}.").format(names=names, path=where)))
    settings.load_notes.extend(notes)
    return settings


def _uncopied_note(bad: list[str], where: str) -> LoadNote:
    """The settings file could not be used, nor copied aside: the user hears that saving settings would
    replace it, so that they can keep it themselves first."""
    if bad == ["*"]:
        return LoadNote(
            _("Your settings file could not be read, so the default settings are used. No copy of it could be "
              "kept: saving settings will replace it."),
            _("Your settings file could not be read, so the default settings are used. No copy of it could be "
              "kept: saving settings will replace {path}.").format(path=where))
    names = ", ".join(bad)
    return LoadNote(
        _("Some settings had values that cannot be used ({names}); their defaults are used. No copy of the file "
          "could be kept: saving settings will replace it.").format(names=names),
        _("Some settings had values that cannot be used ({names}); their defaults are used. No copy of the file "
          "could be kept: saving settings will replace {path}.").format(names=names, path=where))


def checked_values(cls: type, raw: dict, default_hotkeys: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The usable values among `raw`'s known keys, and the names of those that cannot be used."""
    values: dict[str, Any] = {}
    bad: list[str] = []
    for f in fields(cls):
        if f.name not in raw:
            continue
        value, default = raw[f.name], _default(f)
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float) \
                and value.is_integer():
            value = int(value)  # 180.0 written by another tool is still 180
        if not _valid(default, value, f.name):
            bad.append(f.name)
            continue
        if f.name == "hotkeys":
            good = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
            if len(good) != len(value):
                bad.append(f.name)
            value = {**default_hotkeys, **good}
        values[f.name] = value
    return values, bad


def print_load_notes(settings: Any) -> None:  # an engine.config.Settings (config imports this module)
    """For the command line: each note on stderr (where messages for the user go), written out: with the
    kept copy's whole path (read, not heard)."""
    import sys

    for note in settings.load_notes:
        print(note.written, file=sys.stderr)


__all__ = ["LoadNote", "checked_values", "keep_aside", "load_settings", "print_load_notes"]
