"""The audit's attacks as a user meets them, through the real command line in subprocesses (issue 18):
a remote-code model folder answered "y" on a terminal, a hostile checkpoint, FIFOs, non-UTF-8 and
escape-sequence file names in a batch, damaged journal / settings / history files."""
from __future__ import annotations

import csv
import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


from describe_aloud.engine.journal import JOURNAL_NAME
from tests.fixtures.photo_folder import make_many_images, noise_image

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "main.py")


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
    e.pop("ORT_DISABLE_TELEMETRY", None)
    return e


def run_on_a_terminal(args: list[str], typed: bytes, timeout: float = 240) -> tuple[int, str]:
    """Run `args` with a pseudo-terminal as stdin/stdout/stderr (as in a user's terminal), type `typed`
    whenever it waits, and return (exit code, everything it printed)."""
    main_fd, sub_fd = pty.openpty()
    proc = subprocess.Popen(args, stdin=sub_fd, stdout=sub_fd, stderr=sub_fd, env=env(), close_fds=True)
    os.close(sub_fd)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(main_fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
                if b"[y/N]" in chunk or b"y/N" in chunk:
                    os.write(main_fd, typed)
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
        # Typed anyway, as a user answering a prompt that might be further down.
        return proc.wait(timeout=30), output.decode("utf-8", "replace")
    finally:
        os.close(main_fd)


REMOTE_CODE = '''
import pathlib
pathlib.Path({marker!r}).write_text("the model folder's code ran")
from transformers import PretrainedConfig
class EvilConfig(PretrainedConfig):
    model_type = "evil-captioner"
'''


def remote_code_folder(tmp_path: Path, model_type: str) -> tuple[Path, Path]:
    folder = tmp_path / f"downloaded-{model_type}"
    folder.mkdir()
    marker = tmp_path / f"code-ran-{model_type}"
    (folder / "evil.py").write_text(REMOTE_CODE.format(marker=str(marker)))
    (folder / "config.json").write_text(json.dumps({
        "model_type": model_type,
        "auto_map": {"AutoConfig": "evil.EvilConfig", "AutoModelForImageTextToText": "evil.EvilModel"},
    }))
    return folder, marker


def test_a_remote_code_model_folder_never_runs_even_after_y_on_a_terminal(tmp_path):
    picture = tmp_path / "photo.png"
    noise_image(1).save(picture)
    for model_type in ("evil-captioner", "git"):  # unknown type, and a known type that names code
        folder, marker = remote_code_folder(tmp_path, model_type)
        code, output = run_on_a_terminal(
            [sys.executable, MAIN, "describe", str(picture), "--model", str(folder), "--no-ocr"], b"y\n")
        assert not marker.exists(), output
        assert "[y/N]" not in output
        assert code != 0
        assert "never runs code from a model folder" in " ".join(output.split()), output


def test_a_model_folder_of_an_unknown_type_is_named_as_such(tmp_path):
    from describe_aloud.engine.captioners import load_captioner
    from describe_aloud.engine.errors import ModelLoadError

    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "evil-captioner"}))
    try:
        load_captioner(str(folder))
    except ModelLoadError as exc:
        assert "its kind of model ('evil-captioner') is not one this app can use" in str(exc)
    else:
        raise AssertionError("an unknown model type was loaded")


def test_a_hostile_checkpoint_is_refused_without_advice_to_trust_it(tmp_path):
    marker = tmp_path / "pickle-ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    import torch

    checkpoint = tmp_path / "best.pt"
    torch.save({"format": "describe-aloud-seed", "evil": Payload()}, checkpoint)
    picture = tmp_path / "photo.png"
    noise_image(2).save(picture)
    result = subprocess.run([sys.executable, MAIN, "describe", str(picture), "--model", str(checkpoint), "--no-ocr"],
                            capture_output=True, text=True, timeout=240, env=env())
    assert not marker.exists()
    assert "loading it could run code hidden in the file" in " ".join(result.stderr.split())
    assert "weights_only=False" not in result.stderr and "weights_only" not in result.stdout


def test_describe_a_fifo_and_a_non_utf8_name_json_stays_valid_utf8(tmp_path, tiny_git_dir):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    odd = os.path.join(os.fsencode(tmp_path), b"caf\xe9\x1b]0;pwned\x07.png")
    noise_image(3).save(odd.decode("utf-8", "surrogateescape"))
    result = subprocess.run([sys.executable, MAIN, "describe", str(fifo), odd, "--json", "--no-ocr",
                             "--model", str(tiny_git_dir)], capture_output=True, timeout=240, env=env())
    assert result.returncode == 1  # the FIFO failed, the photo was described
    records = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert records[0]["error"] and "is a pipe (FIFO)" in records[0]["error"]
    assert records[1]["path"].endswith("caf\\xe9\x1b]0;pwned\x07.png") and records[1]["error"] is None
    assert records[1]["caption"]
    plain = subprocess.run([sys.executable, MAIN, "describe", odd, "--no-ocr", "--model", str(tiny_git_dir)],
                           capture_output=True, timeout=240, env=env())
    assert plain.returncode == 0
    assert b"\x1b" not in plain.stdout and b"\x07" not in plain.stdout  # escapes shown, not obeyed
    assert "caf\ufffd\\x1b]0;pwned\\x07.png".encode() in plain.stdout  # the byte not UTF-8 read as "�"
    assert b"\\xe9" not in plain.stdout


def test_batch_goes_on_past_fifos_odd_names_and_formula_names_and_resumes_exactly(tmp_path, tiny_git_dir):
    folder = tmp_path / "photos"
    make_many_images(folder, 3)
    os.mkfifo(folder / "stuck.jpg")
    (folder / "zero.png").symlink_to("/dev/zero")
    names = [b"caf\xe9.jpg", b"\x1b[2J\x1b[31mred.png", b"=HYPERLINK(x).png"]
    for i, name in enumerate(names):
        noise_image(10 + i).save(os.path.join(os.fsencode(folder), name).decode("utf-8", "surrogateescape"),
                                 "JPEG" if name.endswith(b".jpg") else "PNG")
    out = tmp_path / "alt.csv"
    args = [sys.executable, MAIN, "batch", str(folder), "--model", str(tiny_git_dir), "--out", str(out),
            "--no-ocr", "--no-progress", "--hash"]
    first = subprocess.run(args, capture_output=True, timeout=300, env=env())
    stdout = first.stdout + first.stderr
    assert b"8 images found: 6 described, 0 already done (skipped), 2 failed." in stdout, stdout.decode(errors="replace")
    assert b"stuck.jpg is a pipe (FIFO)" in stdout and b"zero.png is a device" in stdout
    assert b"\x1b" not in stdout
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines(keepends=True)))
    paths = {row["path"] for row in rows}
    assert {"caf\\xe9.jpg", "\\x1b[2J\\x1b[31mred.png", "'=HYPERLINK(x).png"} <= paths
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
    second = subprocess.run(args, capture_output=True, timeout=300, env=env())
    assert b"8 images found: 0 described, 6 already done (skipped), 2 failed." in second.stdout + second.stderr


def test_batch_with_a_damaged_journal_keeps_every_result(tmp_path, tiny_git_dir):
    folder = tmp_path / "photos"
    make_many_images(folder, 40)
    out = tmp_path / "alt.csv"
    args = [sys.executable, MAIN, "batch", str(folder), "--model", str(tiny_git_dir), "--out", str(out),
            "--no-ocr", "--no-progress"]
    assert subprocess.run(args, capture_output=True, timeout=300, env=env()).returncode == 0
    journal = folder / JOURNAL_NAME
    with sqlite3.connect(journal) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    with open(journal, "r+b") as fh:  # header intact, one page in the middle overwritten
        fh.seek((pages // 2) * 4096)
        fh.write(b"\xa5" * 4096)
    second = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env())
    said = " ".join((second.stdout + second.stderr).split())
    assert second.returncode == 0, said
    assert "Traceback" not in said and "The batch journal was damaged" in said
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines(keepends=True)))
    assert len(rows) == 40 and len({r["path"] for r in rows}) == 40
    assert list(folder.glob(JOURNAL_NAME + ".damaged-*"))


def test_history_on_a_damaged_file_says_so_without_a_traceback(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "history.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xa5" * 8000)
    result = subprocess.run([sys.executable, MAIN, "history"], capture_output=True, text=True, timeout=120,
                            env=env(DESCRIBE_ALOUD_DATA_DIR=str(data)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot be read" in result.stderr and "history.sqlite3" in result.stderr


def test_say_with_wrong_types_in_settings_still_speaks_and_says_what_was_reset(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"hotkeys": "x", "model": 5, "voice": ["x"]}))
    wav = tmp_path / "hello.wav"
    result = subprocess.run([sys.executable, MAIN, "say", "Hello there", "--save-audio", str(wav)],
                            capture_output=True, text=True, timeout=120, env=env(DESCRIBE_ALOUD_CONFIG_DIR=str(config)))
    assert result.returncode == 0, result.stderr
    assert wav.stat().st_size > 1000
    assert "Some settings had values that cannot be used" in result.stderr
    assert list(config.glob("settings.json.damaged-*"))


def test_a_command_on_a_damaged_settings_file_prints_only_the_clear_sentence(tmp_path):
    config, data = tmp_path / "config", tmp_path / "data"
    config.mkdir()
    data.mkdir()
    (config / "settings.json").write_text('{"model": ')  # cut short: not JSON
    result = subprocess.run([sys.executable, MAIN, "history"], capture_output=True, text=True, timeout=120,
                            env=env(DESCRIBE_ALOUD_CONFIG_DIR=str(config), DESCRIBE_ALOUD_DATA_DIR=str(data)))
    said = result.stderr.splitlines()
    assert said[0].startswith("Your settings file could not be read, so the default settings are used."), said
    kept = next(config.glob("settings.json.damaged-*"))
    assert said[0].endswith(f"A copy of it is kept as {kept}.")  # written: the whole path, to find it
    assert said[1:] == ["The history is empty: nothing has been described yet."]  # said once, nothing else
    assert "JSONDecodeError" not in result.stdout + result.stderr


def test_a_folder_from_someone_else_cannot_make_batch_write_outside_it_or_hang(tmp_path, tiny_git_dir):
    """A folder unpacked from an archive or on a stick (tar keeps links): links to the user's own files in
    the places of a photo, the results file, the journal and a sidecar, and a pipe in a sidecar's place.
    Nothing outside the folder is created or changed, nothing hangs, the folder's own photos are done."""
    from describe_aloud.engine.metadata import read_alt_text

    home = tmp_path / "home"
    home.mkdir()
    private = home / "private.jpg"
    noise_image(1).save(private, "JPEG")
    history = home / "history.sqlite3"
    with sqlite3.connect(history) as db:
        db.execute("CREATE TABLE entries (id INTEGER PRIMARY KEY, text TEXT)")
    before = {p.name: p.read_bytes() for p in home.iterdir()}
    folder = tmp_path / "from-someone"
    folder.mkdir()
    noise_image(2).save(folder / "cat.jpg", "JPEG")
    noise_image(3).save(folder / "dog.jpg", "JPEG")
    (folder / "holiday.jpg").symlink_to(private)
    (folder / "describe-aloud-results.csv").symlink_to(home / "report.csv")
    (folder / JOURNAL_NAME).symlink_to(history)
    (folder / "cat.jpg.xmp").symlink_to("/dev/zero")
    os.mkfifo(folder / "dog.jpg.xmp")
    args = [sys.executable, MAIN, "batch", str(folder), "--model", str(tiny_git_dir), "--no-ocr", "--no-progress"]

    refused = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env())
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode == 2 and "describe-aloud-results.csv' is a link" in said, said
    assert not (home / "report.csv").exists()

    out = folder / "alt.csv"
    done = subprocess.run([*args, "--out", str(out), "--sidecar", "xmp", "--write-metadata"],
                          capture_output=True, text=True, timeout=300, env=env())
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode in (0, 1) and "Traceback" not in said, said
    assert "3 images found: 3 described" in said, said
    assert "left untouched: it is a link to a file outside the folder" in said
    assert "left untouched: it is a link" in said and "left untouched: it is a pipe (FIFO)" in said
    assert {p.name: p.read_bytes() for p in home.iterdir()} == before  # the user's own files as they were
    assert read_alt_text(folder / "cat.jpg") and read_alt_text(folder / "dog.jpg")  # the folder's own: written
    assert (folder / JOURNAL_NAME).is_symlink()  # left as it was; the journal went to the data folder
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines(keepends=True)))
    assert {row["path"] for row in rows} == {"cat.jpg", "dog.jpg", "holiday.jpg"}


def test_the_batch_progress_bar_shows_escapes_in_a_file_name_instead_of_obeying_them(tmp_path, tiny_git_dir):
    folder = tmp_path / "photos"
    make_many_images(folder, 2)
    noise_image(7).save(folder / "z\x1b]0;PWNED\x07\x1b[2J.png", "PNG")  # last: the bar ends on it
    done = subprocess.run([sys.executable, MAIN, "batch", str(folder), "--model", str(tiny_git_dir), "--out",
                           str(tmp_path / "r.csv"), "--no-ocr", "--batch-size", "1"],
                          capture_output=True, timeout=300, env=env())
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert b"img/s" in done.stderr  # the bar ran
    assert b"\x1b]0;PWNED" not in done.stderr + done.stdout and b"\x07" not in done.stderr + done.stdout
    wrong = subprocess.run([sys.executable, MAIN, "batch", str(folder), "--model", str(tiny_git_dir), "--out",
                            str(tmp_path / "r.txt")], capture_output=True, text=True, timeout=300, env=env())
    assert wrong.returncode == 2 and "must end in .csv, .jsonl or .json" in wrong.stderr  # a usage error
