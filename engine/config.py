"""Where the app keeps its files, and the settings shared by the app and the command line."""
from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable

from describe_aloud.engine import environment

APP_NAME = "describe-aloud"


def config_dir() -> Path:
    override = environment.CONFIG_DIR.get()
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    override = environment.DATA_DIR.get()
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def private_dir(path: Path) -> Path:
    """`path`, made if missing, that only this user can enter: the data folder holds the history, whose
    screen texts can hold a password read off the screen. Folders made here are 0700; an existing one of
    this user's that others could read (made by an older version with the umask's 0755) is closed too."""
    path = Path(path)
    missing = [path, *(p for p in path.parents if not p.exists())]
    for level in reversed(missing):
        level.mkdir(mode=0o700, exist_ok=True)  # a file in the way raises, as mkdir does
    if os.name == "posix":
        try:
            info = path.stat()
            if info.st_uid == os.getuid() and info.st_mode & 0o077:
                path.chmod(0o700)
        except OSError:  # a FAT stick, a read-only mount: its files are as private as that allows
            pass
    return path


def cache_dir() -> Path:
    """Folder for what the app can make again at any time (the OCR's compiled models): the platform's cache
    folder, or `cache/` in the data folder when that is set (a portable setup, the tests)."""
    if environment.DATA_DIR.get():
        return data_dir() / "cache"
    import platformdirs

    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def settings_path() -> Path:
    return config_dir() / "settings.json"


DEFAULT_HOTKEYS = {
    "describe_screen": "ctrl+alt+d",
    "describe_window": "ctrl+alt+w",
    "describe_region": "ctrl+alt+r",
    "describe_all_monitors": "ctrl+alt+a",
    "describe_clipboard": "ctrl+alt+v",
    "stop_speech": "ctrl+alt+s",
    "ask": "ctrl+alt+k",
}


@dataclass
class Settings:
    model: str = "git-base"
    detail_model: str = "florence-2-base"
    ask_model: str = "smolvlm-256m"  # answers questions about an image (Ctrl+K); loaded on the first question
    precision: str = "auto"
    detail: bool = False
    # The app's language ("zh_CN", "de"); None: the system's. Descriptions are translated into it.
    language: str | None = None
    # Translate the text read from images too (off: read text is said exactly as written).
    translate_text: bool = False
    speak_ocr: bool = True
    # Speech
    # "auto": the running screen reader, else the own voice; "own" voice; "screen_reader" always
    speech_output: str = "auto"
    voice: str | None = None
    rate: int = 180  # words per minute
    volume: float = 1.0  # 0..1
    interrupt: bool = True
    # App
    hotkeys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HOTKEYS))
    start_minimised: bool = False
    close_to_tray: bool = True
    earcons: bool = True
    batch_progress_every_percent: int = 10

    def __post_init__(self) -> None:
        # What loading the file had to say (a damaged file kept aside...): not a setting, never saved.
        self.load_notes: list = []  # engine.settings_loader.LoadNote (said short, written with the path)

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        """Read the settings file, every value type-checked; unknown keys are ignored. A damaged file or a
        wrong value is kept aside and explained in `load_notes` (engine.settings_loader)."""
        from describe_aloud.engine.settings_loader import load_settings

        return load_settings(cls, path or settings_path(), DEFAULT_HOTKEYS)

    def save_changes(self, changed: Iterable[str], path: Path | None = None) -> list[str]:
        """Save the fields named in `changed` onto what the settings file holds now, and take every other
        field over from the file. Returns the names of those other fields that differed (another program
        changed them meanwhile: `voices --volume`, a hand edit), so the caller applies them too.

        The app keeps its Settings for hours: writing its whole copy would silently undo those changes."""
        path = path or settings_path()
        on_disk = Settings.load(path) if path.exists() else None
        if on_disk is None or on_disk.load_notes:  # nothing usable there (a damaged file is kept aside)
            self.save(path)
            return []
        for name in changed:
            setattr(on_disk, name, copy.deepcopy(getattr(self, name)))
        outside = self._take_over({f.name: getattr(on_disk, f.name) for f in fields(self)})
        on_disk.save(path)
        return outside

    def reload(self, path: Path | None = None) -> tuple[list[str], list[str]]:
        """Take over the usable values the settings file holds now: (names of the fields that changed, names
        of values there that cannot be used: the app keeps its own for those). The file is not touched."""
        from describe_aloud.engine.settings_loader import checked_values

        path = path or settings_path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return [], []  # gone, or being written or edited: the next change is read again
        if not isinstance(raw, dict):
            return [], []
        values, bad = checked_values(Settings, raw, DEFAULT_HOTKEYS)
        return self._take_over(values), bad

    def _take_over(self, values: dict[str, object]) -> list[str]:
        """Set the fields named in `values` that differ; their names."""
        changed = []
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, copy.deepcopy(value))
                changed.append(name)
        return changed

    def save(self, path: Path | None = None) -> None:
        """Write atomically so a crash never leaves a half-written settings file."""
        path = path or settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(asdict(self), fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time (not at import time, as
    huggingface_hub does), so tests and users can point it elsewhere."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface" / "hub"
