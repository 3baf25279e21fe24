"""Hotkey strings ("Ctrl+Alt+D") parsed into a Combo, the one form every hotkey back end (pynput, the X11
grab, Windows RegisterHotKey, macOS Carbon) is given; a string that is not a hotkey is a ComboError whose
text is a sentence for the user. No Qt, no platform code: the back ends import this, never gui.hotkeys."""
from __future__ import annotations

from dataclasses import dataclass

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _

_MODIFIERS = {
    "ctrl": "ctrl", "control": "ctrl",
    "alt": "alt", "option": "alt", "opt": "alt",
    "shift": "shift",
    "super": "cmd", "win": "cmd", "windows": "cmd", "meta": "cmd", "cmd": "cmd", "command": "cmd",
}
# Our combo names -> (pynput Key name, X11 keysym name) for keys that are not a single character.
_NAMED_KEYS = {
    "space": ("space", "space"), "esc": ("esc", "Escape"), "escape": ("esc", "Escape"),
    "enter": ("enter", "Return"), "return": ("enter", "Return"), "tab": ("tab", "Tab"),
    "backspace": ("backspace", "BackSpace"), "delete": ("delete", "Delete"), "del": ("delete", "Delete"),
    "insert": ("insert", "Insert"), "ins": ("insert", "Insert"), "home": ("home", "Home"), "end": ("end", "End"),
    "pageup": ("page_up", "Prior"), "page_up": ("page_up", "Prior"),
    "pagedown": ("page_down", "Next"), "page_down": ("page_down", "Next"),
    "up": ("up", "Up"), "down": ("down", "Down"), "left": ("left", "Left"), "right": ("right", "Right"),
    "print": ("print_screen", "Print"), "printscreen": ("print_screen", "Print"),
    "print_screen": ("print_screen", "Print"), "pause": ("pause", "Pause"),
}
_NAMED_KEYS.update({f"f{n}": (f"f{n}", f"F{n}") for n in range(1, 21)})
# Single characters whose X11 keysym name is a word.
_X_CHAR_KEYSYMS = {
    ",": "comma", ".": "period", "/": "slash", ";": "semicolon", "'": "apostrophe", "[": "bracketleft",
    "]": "bracketright", "\\": "backslash", "-": "minus", "=": "equal", "`": "grave",
}


class ComboError(UserFacingError, ValueError):
    """A hotkey string we cannot understand; str() is a sentence for the user."""


@dataclass(frozen=True)
class Combo:
    """A parsed hotkey: modifiers (pynput names: ctrl, alt, shift, cmd) and one key."""

    modifiers: tuple[str, ...]
    key: str  # a lower-case character, or a key from _NAMED_KEYS
    text: str  # normalised, e.g. "ctrl+alt+d"

    def pynput(self) -> str:
        """pynput's HotKey.parse syntax, e.g. "<ctrl>+<alt>+d"."""
        parts = [f"<{m}>" for m in self.modifiers]
        parts.append(f"<{_NAMED_KEYS[self.key][0]}>" if self.key in _NAMED_KEYS else self.key)
        return "+".join(parts)


def parse_combo(text: str) -> Combo:
    """Parse "Ctrl+Alt+D" style text. Raises ComboError with a readable reason."""
    raw = (text or "").strip().lower().replace(" ", "")
    if not raw:
        raise ComboError(_("The shortcut is empty."))
    # "+" itself may be the key: "ctrl++".
    tokens = raw.split("+")
    if raw.endswith("++"):
        tokens = tokens[:-2] + ["+"]
    tokens = [t for t in tokens if t]
    modifiers: list[str] = []
    keys: list[str] = []
    for token in tokens:
        if token in _MODIFIERS:
            if _MODIFIERS[token] not in modifiers:
                modifiers.append(_MODIFIERS[token])
        elif len(token) == 1 or token in _NAMED_KEYS:
            keys.append(token)
        else:
            raise ComboError(_("'{token}' in the shortcut '{text}' is not a key name.").format(token=token, text=text))
    if len(keys) != 1:
        raise ComboError(_("The shortcut '{text}' must have exactly one key besides Ctrl, Alt, Shift or Super.").format(text=text))
    key = keys[0]
    if not modifiers and key not in _NAMED_KEYS:
        raise ComboError(_("The shortcut '{text}' needs Ctrl, Alt or Super, or it would steal a typing key.").format(text=text))
    order = ["ctrl", "alt", "shift", "cmd"]
    modifiers.sort(key=order.index)
    return Combo(tuple(modifiers), key, "+".join([*modifiers, key]))
