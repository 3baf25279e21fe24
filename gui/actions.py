"""The one table of the app's actions: what each is called, where it appears, which keys trigger it, and
what it runs. The main window builds its menus, buttons and shortcuts from it, the tray its menu, and the
controller binds every action and dispatches global hotkeys and single-instance commands through it.

Plain data, no widgets. Threading contract: `ActionSpec.run` is called on the GUI thread only.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from describe_aloud.engine.i18n import N_, _


class ActionTarget(Protocol):
    """What the actions run: the AppController's commands."""

    def open_images(self) -> None: ...

    def paste(self) -> None: ...

    def describe_folder(self) -> None: ...

    def quit(self) -> None: ...

    def capture_and_describe(self, target: str) -> None: ...

    def more_detail(self) -> None: ...

    def ask_about_image(self) -> None: ...

    def repeat(self) -> None: ...

    def stop_speech(self) -> None: ...

    def copy_description(self) -> None: ...

    def show_history(self) -> None: ...

    def show_settings(self) -> None: ...

    def show_shortcuts(self) -> None: ...

    def show_window(self) -> None: ...


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str  # menu text with & mnemonic
    shortcuts: tuple[str, ...]  # in-window shortcuts (the global hotkeys are in Settings)
    help: str  # accessible description / status tip
    menu: str  # one of MENU_ORDER, or "Tray" (only in the tray menu)
    run: Callable[[ActionTarget], None]
    # A global hotkey or the single-instance socket may trigger it (the socket only takes engine.ipc.COMMANDS).
    remote: bool = False


def _capture(target: str) -> Callable[[ActionTarget], None]:
    return lambda app: app.capture_and_describe(target)


# In-window shortcuts. The global hotkeys (Settings) are different combinations on purpose, so a key press
# in this window never triggers both.
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open_image", N_("&Open image…"), ("Ctrl+O",), N_("Choose image files to describe."), "File",
               lambda app: app.open_images()),
    ActionSpec("paste", N_("&Paste image"), ("Ctrl+V",), N_("Describe the image or image files on the clipboard."), "File",
               lambda app: app.paste(), remote=True),
    ActionSpec("describe_folder", N_("Describe &folder…"), ("Ctrl+Shift+O",),
               N_("Describe every image in a folder and write alt text."), "File", lambda app: app.describe_folder()),
    ActionSpec("quit", N_("&Quit"), ("Ctrl+Q",), N_("Stop describing and close the app, including the tray icon."), "File",
               lambda app: app.quit(), remote=True),
    ActionSpec("describe_screen", N_("Describe &screen"), ("Ctrl+1",),
               N_("Describe the monitor under the mouse pointer (this window is hidden from the capture)."),
               "Describe", _capture("monitor_under_pointer"), remote=True),
    ActionSpec("describe_window", N_("Describe active &window"), ("Ctrl+2",),
               N_("Describe the window that has the focus."), "Describe", _capture("active_window"), remote=True),
    ActionSpec("describe_region", N_("Describe &region around pointer"), ("Ctrl+3",),
               N_("Describe the area around the mouse pointer."), "Describe", _capture("region_around_pointer"),
               remote=True),
    ActionSpec("describe_all_monitors", N_("Describe &all monitors"), ("Ctrl+4",),
               N_("Describe every monitor at once."), "Describe", _capture("all_monitors"), remote=True),
    ActionSpec("describe_clipboard", N_("Describe &clipboard"), ("Ctrl+Shift+V",),
               N_("Describe the image on the clipboard."), "Describe", lambda app: app.paste(), remote=True),
    ActionSpec("more_detail", N_("&More detail"), ("Ctrl+D",),
               N_("Describe the last image again with the detail model and speak what it adds."), "Describe",
               lambda app: app.more_detail(), remote=True),
    ActionSpec("ask", N_("As&k about the image…"), ("Ctrl+K",),
               N_("Ask a question about the last image; the answer is spoken and kept with it."), "Describe",
               lambda app: app.ask_about_image(), remote=True),
    ActionSpec("repeat", N_("&Repeat"), ("F5", "Ctrl+R"), N_("Speak the last description again."), "Speech",
               lambda app: app.repeat(), remote=True),
    ActionSpec("stop_speech", N_("&Stop speech"), ("Escape",), N_("Stop speaking now."), "Speech",
               lambda app: app.stop_speech(), remote=True),
    ActionSpec("copy", N_("&Copy description"), ("Ctrl+Shift+C",), N_("Copy the last description as text."), "Speech",
               lambda app: app.copy_description()),
    ActionSpec("history", N_("&History…"), ("Ctrl+H",), N_("Search past descriptions and hear them again."), "Tools",
               lambda app: app.show_history()),
    ActionSpec("settings", N_("S&ettings…"), ("Ctrl+,",), N_("Model, speech, hotkeys and tray options."), "Tools",
               lambda app: app.show_settings()),
    ActionSpec("shortcuts", N_("&Keyboard shortcuts"), ("F1",), N_("Hear and see every keyboard shortcut."), "Help",
               lambda app: app.show_shortcuts()),
    ActionSpec("show", N_("&Show window"), (), N_("Bring the Describe Aloud window to the front."), "Tray",
               lambda app: app.show_window(), remote=True),
)
ACTIONS_BY_NAME: dict[str, ActionSpec] = {spec.name: spec for spec in ACTIONS}

MENU_ORDER = ("File", "Describe", "Speech", "Tools", "Help")
# The menus' titles as shown (the keys above name them in the table).
MENU_TITLES = {"File": N_("&File"), "Describe": N_("&Describe"), "Speech": N_("&Speech"), "Tools": N_("&Tools"),
               "Help": N_("&Help")}
# The buttons in the window, in Tab order after the result view.
BUTTON_ACTIONS = (
    "open_image", "describe_screen", "repeat", "stop_speech", "more_detail", "copy", "history", "settings",
)
# The tray menu; None is a separator.
TRAY_ACTIONS = (
    "show", None, "describe_screen", "describe_window", "describe_region", "describe_all_monitors",
    "describe_clipboard", None, "repeat", "stop_speech", "more_detail", "ask", None, "history", "settings", None, "quit",
)


def plain_text(text: str) -> str:
    """Menu text without the & mnemonic marker and the ellipsis (for names and tooltips). A translation
    may put the mnemonic after the words, as Chinese menus do ("打开图像(&O)…"): that is removed whole."""
    return re.sub(r"\s*\(&\w\)", "", text).replace("&", "").replace("…", "").strip()


def action_label(name: str) -> str:
    """An action's name as the user reads it ("describe_window" -> "Describe active window")."""
    spec = ACTIONS_BY_NAME.get(name)
    return plain_text(_(spec.text)) if spec is not None else name.replace("_", " ").capitalize()


def remote_action(command: str) -> ActionSpec | None:
    """The action a hotkey or socket command names ("describe_screen" or "describe-screen"), None when it
    names none that may be triggered from outside."""
    spec = ACTIONS_BY_NAME.get(command.strip().replace("-", "_"))
    return spec if spec is not None and spec.remote else None
