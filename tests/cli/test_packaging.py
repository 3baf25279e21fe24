"""A real package: the wheel holds only `describe_aloud/...` with its data files and both commands, and
the installed copy works from another folder, without this checkout.

How the installed copy is kept apart from the checkout: the test venv has the checkout installed in
editable mode, through a `.pth` file that adds an import hook mapping `describe_aloud.*` to the source
folders. The installed copy is therefore run with `python -S`: no `site`, so no `.pth` file runs and no
hook is installed; the wheel's folder goes first on `sys.path`, the venv's site-packages after it (plain
folders: they provide torch, transformers and the other dependencies), and the working folder is an
empty temporary one. Every run also prints where `describe_aloud` came from, and the test checks it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from setuptools.config.pyprojecttoml import load_file  # tomllib on 3.11+, its vendored twin on 3.10

ROOT = Path(__file__).resolve().parents[2]
EARCONS = ("capturing.wav", "done.wav", "error.wav")
# A catalog for a made-up language, added to the copy the wheel is built from: it must ship and be found.
FAKE_LANGUAGE = "xx"
DESCRIPTION = "Hear what is on your screen or in a photo, described on this computer."  # cli/main.py
TRANSLATED = "XX " + DESCRIPTION

# Put the wheel's folder and the dependencies on sys.path, then run a script or a module as `__main__`.
BOOT = """\
import runpy, sys
target, deps, kind, name, *args = sys.argv[1:]
sys.path[:0] = [target, *deps.split(__import__("os").pathsep)]
import describe_aloud.cli
print("FROM", describe_aloud.cli.__file__, file=sys.stderr)
if kind == "script":
    sys.argv = [name, *args]
    runpy.run_path(name, run_name="__main__")
elif kind == "module":
    sys.argv = [name, *args]
    runpy.run_module(name, run_name="__main__", alter_sys=True)
else:
    exec(name)
"""


def write_po(path: Path, messages: dict[str, str]) -> None:
    """A gettext catalog source (.po) for `messages`; the wheel build compiles it."""
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for key, value in messages.items():
        lines += [f"msgid {quoted(key)}", f"msgstr {quoted(value)}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def package_dirs() -> dict[str, str]:
    """pyproject's mapping from installed package to source folder, e.g. describe_aloud.engine -> engine."""
    return load_file(ROOT / "pyproject.toml")["tool"]["setuptools"]["package-dir"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Build the wheel from a copy of the sources (an in-place build would leave build/ in the checkout,
    and could pick up stale files from an earlier one), then install it with pip into a plain folder."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "setup.py"):
        shutil.copy2(ROOT / name, source / name)
    for folder in sorted(set(package_dirs().values())):
        # No compiled catalogs: the build compiles them from the .po sources (setup.py).
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
    write_po(source / "engine" / "locale" / FAKE_LANGUAGE / "LC_MESSAGES" / "describe-aloud.po",
             {DESCRIPTION: TRANSLATED})
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    dist = work / "dist"
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist),
                    str(source)], check=True, capture_output=True, text=True, timeout=120)
    (wheel,) = dist.glob("*.whl")
    target = work / "installed"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True, timeout=120)
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    return {"wheel": wheel, "target": target, "cwd": elsewhere}


def run_installed(built: dict[str, Path], kind: str, name: str, *args: str,
                  language: str = "en") -> subprocess.CompletedProcess[str]:
    deps = os.pathsep.join(dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PATH"] = os.pathsep.join([str(built["target"] / "bin"), "/usr/bin", "/bin"])
    env["LANGUAGE"] = language
    result = subprocess.run(
        [sys.executable, "-S", "-c", BOOT, str(built["target"]), deps, kind, name, *args],
        cwd=built["cwd"], env=env, capture_output=True, text=True, timeout=120,
    )
    imported_from = Path(result.stderr.split("FROM ", 1)[1].split("\n", 1)[0])
    assert imported_from.is_relative_to(built["target"]), result.stderr  # the wheel, not the checkout
    return result


def test_the_wheel_installs_only_the_describe_aloud_namespace(built):
    names = zipfile.ZipFile(built["wheel"]).namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"describe_aloud", built["wheel"].name.split("-py3")[0] + ".dist-info"}
    for generic in ("engine", "gui", "cli", "assets", "main.py", "main"):
        assert generic not in top_level
    assert not any(name.startswith("describe_aloud/") and name.endswith("/main.py") and "/cli/" not in name
                   for name in names)  # the checkout's launcher stays out


def test_the_wheel_carries_the_earcons_the_desktop_file_and_the_catalogs(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    for earcon in EARCONS:
        assert f"describe_aloud/assets/earcons/{earcon}" in names
    assert "describe_aloud/assets/describe-aloud.desktop" in names
    assert f"describe_aloud/engine/locale/{FAKE_LANGUAGE}/LC_MESSAGES/describe-aloud.mo" in names
    # Every data file of the source packages ships (icons, catalogs... whatever is added later).
    for package, folder in package_dirs().items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT / folder).as_posix()
                assert f"{package.replace('.', '/')}/{relative}" in names, f"{folder}/{relative} is not in the wheel"


def test_the_wheel_declares_both_commands(built):
    wheel = zipfile.ZipFile(built["wheel"])
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    console, gui = text.split("[gui_scripts]")
    assert "describe-aloud = describe_aloud.cli.main:main" in console
    assert "describe-aloud-gui = describe_aloud.cli.main:gui_main" in gui
    assert (built["target"] / "bin" / "describe-aloud").is_file()
    assert (built["target"] / "bin" / "describe-aloud-gui").is_file()


def test_the_installed_command_names_itself_in_its_help_and_messages(built):
    script = str(built["target"] / "bin" / "describe-aloud")
    result = run_installed(built, "script", script, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: describe-aloud [-h] [--language LANG] COMMAND")
    assert DESCRIPTION in result.stdout
    listed = run_installed(built, "script", script, "models", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Download one with: describe-aloud models download NAME" in listed.stdout


def test_the_installed_module_form_names_itself(built):
    result = run_installed(built, "module", "describe_aloud.cli", "--help")
    assert result.returncode == 0, result.stderr
    usage = " ".join(result.stdout.split())  # argparse wraps a long interpreter path onto a second line
    assert f"usage: {sys.executable} -m describe_aloud.cli [-h] [--language LANG] COMMAND" in usage


def test_the_installed_package_finds_its_earcons_and_catalogs(built):
    code = (
        "from describe_aloud.gui.earcons import EARCON_DIR\n"
        "from describe_aloud.engine.i18n import LOCALE_DIR\n"
        "print(EARCON_DIR); print(LOCALE_DIR)\n"
        "print(*sorted(p.name for p in EARCON_DIR.glob('*.wav')))\n"
    )
    result = run_installed(built, "code", code)
    assert result.returncode == 0, result.stderr
    earcon_dir, locale_dir, found = result.stdout.splitlines()
    assert Path(earcon_dir).is_relative_to(built["target"]) and found.split() == list(EARCONS)
    assert Path(locale_dir).is_relative_to(built["target"])
    translated = run_installed(built, "script", str(built["target"] / "bin" / "describe-aloud"), "--help",
                               language=FAKE_LANGUAGE)
    assert TRANSLATED in translated.stdout
