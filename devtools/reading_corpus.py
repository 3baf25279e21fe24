"""The labelled corpus of REAL images for issue 13 (kind, text worth saying, reading order, scripts).

Not app code (not packaged). Used by tests/engine/test_reading_corpus.py (a session fixture builds it once)
and bench/bench_reading.py. Every image is real, nobody here drew it to pass a test:

- photos shipped by scikit-image (`skimage.data`: CC0 / public domain, see its docstrings; the motorcycle
  with YAMAHA on its tank and the photographed book page are loaded from the installed package, not
  committed) and Debian's desktop-base artwork;
- screens made by running real programs on a private Xvfb: GTK dialogs (zenity), a terminal (xterm), Qt
  widgets (a form, a table, a two-pane mail window, a dialog, Chinese + English settings; fonts-noto-cjk);
- documents: real Debian documentation (PDF manuals rendered by pdftoppm, licence texts typeset in one or
  two columns, /etc/services as a table), and scanned-looking copies of them (rotated, blurred, noisy,
  on grey paper).

Each sample has its kind and the text that must be read, in order (a few distinctive lines: OCR of a whole
page is not the point). Table rows are written with "\t" between cells. Labels for photos list the scene
text a sighted person reads there (usually none).

Run `python -m devtools.reading_corpus OUT_DIR` to build it and print the labels.
"""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

# System packages the corpus needs (devtools/setup.sh TEST_PACKAGES has them).
NEEDED_COMMANDS = ("Xvfb", "zenity", "xterm", "xwd", "xdotool", "pdftoppm", "pdftotext")
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEJAVU_SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
PDFS = (  # real Debian documentation, from packages on every desktop (fontconfig, shared-mime-info)
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
    "/usr/share/doc/fontconfig/fontconfig-user.pdf.gz",
    "/usr/share/doc/bzip2/manual.pdf.gz",
)
LICENCES = Path("/usr/share/common-licenses")


@dataclass
class Sample:
    name: str
    kind: str  # photo / screen / document
    text: list[str] = field(default_factory=list)  # must be read, in this order
    origin: str = ""
    language: str | None = None  # a line in this language must be found (mixed-script samples)
    # "tune": the thresholds were set looking at these; "held-out": added afterwards, scored as they came.
    split: str = "tune"

    def path(self, root: Path) -> Path:
        return root / f"{self.name}.png"


class CorpusUnavailable(RuntimeError):
    """A program or package the corpus needs is missing (names what to install)."""


def missing_commands() -> list[str]:
    return [c for c in NEEDED_COMMANDS if shutil.which(c) is None]


def build(out: Path) -> list[Sample]:
    """Build every sample into `out` (PNG files) and write labels.json; returns the samples."""
    missing = missing_commands()
    if missing:
        raise CorpusUnavailable(f"missing {', '.join(missing)} (devtools/setup.sh test installs them)")
    out.mkdir(parents=True, exist_ok=True)
    samples = photos(out) + documents(out) + screens(out) + held_out(out)
    (out / "labels.json").write_text(json.dumps([asdict(s) for s in samples], ensure_ascii=False, indent=1))
    return samples


def load(out: Path) -> list[Sample]:
    return [Sample(**s) for s in json.loads((out / "labels.json").read_text())]


# ------------------------------------------------------------------------------------------ photos

# (skimage.data function, scene text a sighted person reads there)
SKIMAGE_PHOTOS = (
    ("astronaut", []), ("coffee", []), ("chelsea", []), ("coins", []), ("camera", []), ("rocket", []),
    ("hubble_deep_field", []), ("retina", []), ("immunohistochemistry", []), ("brick", []), ("grass", []),
    ("gravel", []), ("moon", []), ("text", []), ("cell", []),
)


def photos(out: Path) -> list[Sample]:
    try:
        import skimage.data as data
    except ImportError as exc:
        raise CorpusUnavailable("scikit-image is missing (pip install -e '.[test]')") from exc
    samples = []
    for name, text in SKIMAGE_PHOTOS:
        _save(Image.fromarray(getattr(data, name)()), out / f"photo-{name}.png")
        samples.append(Sample(f"photo-{name}", "photo", list(text), f"skimage.data.{name}"))
    left, right, _ = data.stereo_motorcycle()
    # YAMAHA on the tank (and, smaller, on the engine).
    _save(Image.fromarray(left), out / "photo-motorcycle.png")
    samples.append(Sample("photo-motorcycle", "photo", ["YAMAHA"], "skimage.data.stereo_motorcycle"))
    _save(Image.fromarray(right).resize((1440, 996)), out / "photo-motorcycle-large.png")
    samples.append(Sample("photo-motorcycle-large", "photo", ["YAMAHA"],
                          "skimage.data.stereo_motorcycle, right, enlarged"))
    _save(Image.fromarray(data.page()), out / "document-page-photo.png")
    samples.append(Sample("document-page-photo", "document", ["Region-based segmentation",
                                                               "Let us first determine markers of the coins and the"],
                          "skimage.data.page: a photographed book page"))
    # Artwork with the release written small in a corner.
    for theme, text in (("emerald", ["debian 12"]), ("futureprototype", []), ("homeworld", ["debian 11"])):
        path = Path(f"/usr/share/desktop-base/{theme}-theme/grub/grub-16x9.png")
        name = f"photo-desktop-{theme}"
        _save(Image.open(path).convert("RGB").resize((1280, 720)), out / f"{name}.png")
        samples.append(Sample(name, "photo", text, str(path)))
    return samples


# --------------------------------------------------------------------------------------- documents

def _font(size: int, path: str = DEJAVU) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _licence_paragraphs(name: str) -> list[str]:
    text = (LICENCES / name).read_text()
    return [" ".join(p.split()) for p in text.split("\n\n") if len(p.split()) > 8]


def _typeset(paragraphs: list[str], width_chars: int) -> list[str]:
    lines: list[str] = []
    for p in paragraphs:
        lines += textwrap.wrap(p, width_chars) + [""]
    return lines


def _page(lines: list[str], *, size=(1240, 1754), font=None, x=110, y=120, pitch=None, title=None) -> Image.Image:
    font = font or _font(26, DEJAVU_SERIF)
    pitch = pitch or int(font.size * 1.5)
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    if title:
        draw.text((x, y), title, fill="black", font=_font(44))
        y += 100
    for line in lines:
        draw.text((x, y), line, fill="black", font=font)
        y += pitch
    return page


def scanned(page: Image.Image, seed: int, angle: float) -> Image.Image:
    """A page as a scanner or a phone sees it: grey paper, slightly turned, soft, grainy."""
    import numpy as np

    rng = np.random.default_rng(seed)
    tinted = Image.blend(page, Image.new("RGB", page.size, (226, 222, 210)), 0.35)
    turned = tinted.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(90, 90, 90))
    soft = turned.filter(ImageFilter.GaussianBlur(1.1))
    arr = np.asarray(soft, dtype=np.float32) + rng.normal(0, 9, (soft.height, soft.width, 1))
    return Image.fromarray(arr.clip(0, 255).astype("uint8"))


def documents(out: Path) -> list[Sample]:
    samples: list[Sample] = []
    gpl = _licence_paragraphs("GPL-3")
    apache = _licence_paragraphs("Apache-2.0")

    # A white page with four lines of text (the page that was called a photo).
    four = textwrap.wrap(gpl[1], 60)[:4]
    _save(_page(four, size=(1240, 1754)), out / "document-four-lines.png")
    samples.append(Sample("document-four-lines", "document", [four[0], four[-1]], "GPL-3 preamble, 4 lines"))

    # One full column, and the same scanned.
    lines = _typeset(gpl[:6], 70)[:40]
    page = _page(lines, title="GNU General Public License")
    first = [l for l in lines if l][:2]
    _save(page, out / "document-gpl.png")
    samples.append(Sample("document-gpl", "document", ["GNU General Public License", *first], "GPL-3 typeset"))
    for i, angle in enumerate((1.2, -0.8)):
        _save(scanned(page, i, angle).resize((992, 1403)), out / f"document-gpl-scan{i}.png")
        samples.append(Sample(f"document-gpl-scan{i}", "document", ["GNU General Public License", first[0]],
                              "GPL-3 typeset, scanned-looking"))

    # Two columns: every line of the left column comes before the right column.
    left = _typeset(apache[2:5], 34)[:26]
    right = _typeset(apache[5:8], 34)[:26]
    two = _page([], title="Apache License 2.0")
    draw = ImageDraw.Draw(two)
    font = _font(24, DEJAVU_SERIF)
    for row, (a, b) in enumerate(zip(left, right)):
        draw.text((110, 230 + row * 38), a, fill="black", font=font)
        draw.text((660, 230 + row * 38), b, fill="black", font=font)
    left_text = [l for l in left if l]
    right_text = [l for l in right if l]
    _save(two, out / "document-two-columns.png")
    order = ["Apache License 2.0", left_text[0], left_text[-1], right_text[0], right_text[-1]]
    samples.append(Sample("document-two-columns", "document", order, "Apache-2.0 in two columns"))
    _save(scanned(two, 7, 0.6).resize((992, 1403)), out / "document-two-columns-scan.png")
    samples.append(Sample("document-two-columns-scan", "document", order[:4], "two columns, scanned-looking"))

    # A table: /etc/services rows (name, port/protocol, comment) read row by row, cells separated.
    rows = []
    for raw in Path("/etc/services").read_text().splitlines():
        parts = raw.split("#")[0].split()
        if len(parts) >= 2 and "/" in parts[1]:
            rows.append((parts[0], parts[1], raw.split("#")[1].strip() if "#" in raw else ""))
    rows = [r for r in rows if r[2] and len(r[2]) < 28][:14]
    table = _page([], title="Network services")
    draw = ImageDraw.Draw(table)
    for row, cells in enumerate((("Service", "Port", "Description"), *rows)):
        for x, cell in zip((110, 420, 640), cells):
            draw.text((x, 240 + row * 44), cell, fill="black", font=_font(26))
    _save(table, out / "document-table.png")
    expected = ["Service\tPort\tDescription", *("\t".join(r) for r in rows[:3])]
    samples.append(Sample("document-table", "document", expected, "/etc/services as a table"))

    # Chinese + English document (a bilingual notice).
    zh = _page(["软件许可协议 Software licence", "", "本程序是自由软件，您可以重新发布和修改。",
                "This program is free software: you can redistribute it.", "本程序的发布是希望它有用，但没有任何担保。",
                "It is distributed in the hope that it will be useful."], font=_font(30, NOTO_CJK))
    _save(zh, out / "document-chinese-english.png")
    samples.append(Sample("document-chinese-english", "document",
                          ["本程序是自由软件", "This program is free software", "本程序的发布是希望它有用"],
                          "bilingual page, Noto CJK", language="zh"))

    samples += _pdf_pages(out)
    return samples


def _pdf_pages(out: Path) -> list[Sample]:
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        for pdf in PDFS:
            source = Path(pdf)
            if not source.exists():
                continue
            if source.suffix == ".gz":
                plain = Path(tmp) / source.stem
                plain.write_bytes(gzip.decompress(source.read_bytes()))
                source = plain
            for page in (1, 3):
                stem = f"document-pdf-{Path(pdf).name.split('.')[0]}-p{page}"
                prefix = Path(tmp) / stem
                subprocess.run(["pdftoppm", "-r", "90", "-f", str(page), "-l", str(page), "-png", "-singlefile",
                                str(source), str(prefix)], check=True, timeout=60)
                text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(source), "-"],
                                      check=True, capture_output=True, text=True, timeout=60).stdout
                lines = [" ".join(l.split()) for l in text.splitlines()
                         if len(l.split()) >= 2 and len(l) <= 90 and ". . ." not in l][:2]
                image = Image.open(f"{prefix}.png").convert("RGB")
                _save(image, out / f"{stem}.png")
                samples.append(Sample(stem, "document", lines, f"{pdf} page {page} (pdftoppm)"))
    return samples


# ---------------------------------------------------------------------------------------- held out

def held_out(out: Path) -> list[Sample]:
    """Variants added after the thresholds were set: other photos, themes, licences, pages, scans."""
    import skimage.data as data

    samples: list[Sample] = []

    def add(image: Image.Image, name: str, kind: str, text: list[str], origin: str, language: str | None = None):
        _save(image, out / f"{name}.png")
        samples.append(Sample(name, kind, text, origin, language, split="held-out"))

    add(Image.fromarray(data.astronaut()).crop((100, 0, 400, 300)), "photo-astronaut-face", "photo", [],
        "skimage astronaut, cropped")
    add(Image.fromarray(data.coffee()).resize((1280, 853)), "photo-coffee-large", "photo", [], "skimage coffee, 1280")
    add(Image.fromarray(data.chelsea()).convert("L"), "photo-chelsea-grey", "photo", [], "skimage chelsea, grey")
    add(Image.fromarray(data.rocket()).resize((1280, 853)), "photo-rocket-large", "photo", [], "skimage rocket, 1280")
    add(Image.fromarray(data.coins()).resize((768, 606)), "photo-coins-large", "photo", [], "skimage coins, 2x")
    for theme, text in (("lines", []), ("moonlight", []), ("softwaves", []), ("joy", []),
                        ("spacefun", ["debian", "The Universal Operating System"])):
        path = Path(f"/usr/share/desktop-base/{theme}-theme/grub/grub-4x3.png")
        add(Image.open(path).convert("RGB").resize((1024, 768)), f"photo-desktop-{theme}", "photo", text, str(path))

    lgpl = _licence_paragraphs("LGPL-2.1")
    lines = _typeset(lgpl[:5], 66)[:36]
    first = [l for l in lines if l][:2]
    page = _page(lines, title="GNU Lesser General Public License")
    add(page, "document-lgpl", "document", ["GNU Lesser General Public License", *first], "LGPL-2.1 typeset")
    add(scanned(page, 11, -1.5).resize((868, 1228)), "document-lgpl-scan", "document",
        ["GNU Lesser General Public License", first[0]], "LGPL-2.1, scanned-looking")
    mpl = _licence_paragraphs("MPL-2.0")
    four = textwrap.wrap(mpl[3], 56)[:4]
    note = _page(four, size=(1240, 1754), font=_font(28))
    add(scanned(note, 12, 0.9).resize((992, 1403)), "document-four-lines-scan", "document", [four[0], four[-1]],
        "MPL-2.0, four lines, scanned-looking")
    left, right = _typeset(mpl[5:8], 36)[:24], _typeset(mpl[8:11], 36)[:24]
    two = _page([], title="Mozilla Public License")
    draw = ImageDraw.Draw(two)
    for row, (a, b) in enumerate(zip(left, right)):
        draw.text((100, 230 + row * 40), a, fill="black", font=_font(24))
        draw.text((650, 230 + row * 40), b, fill="black", font=_font(24))
    lt, rt = [l for l in left if l], [l for l in right if l]
    add(two, "document-mpl-two-columns", "document", ["Mozilla Public License", lt[0], lt[-1], rt[0], rt[-1]],
        "MPL-2.0 in two columns")
    zh = _page(["使用说明 User guide", "", "按下快捷键即可听到屏幕内容。", "Press the hotkey to hear the screen.",
                "拖放照片即可听到描述。"], font=_font(30, NOTO_CJK))
    add(scanned(zh, 13, -0.7).resize((992, 1403)), "document-chinese-scan", "document",
        ["按下快捷键即可听到屏幕内容", "Press the hotkey to hear the screen", "拖放照片即可听到描述"],
        "bilingual page, scanned-looking", "zh")
    return samples


# ----------------------------------------------------------------------------------------- screens

ZENITY = (  # (name, arguments, text to read in order)
    ("unsaved", ["--question", "--title=Unsaved changes", "--text=Save changes to the document before closing?",
                 "--ok-label=Keep", "--cancel-label=Discard"],
     ["Save changes to the document before closing?"]),
    ("info", ["--info", "--title=Backup", "--text=The files were copied to the backup folder."],
     ["The files were copied to the backup folder."]),
    ("error", ["--error", "--title=Connection", "--text=Could not connect to the mail server."],
     ["Could not connect to the mail server."]),
    ("warning", ["--warning", "--title=Disk", "--text=The disk is almost full."], ["The disk is almost full."]),
    ("entry", ["--entry", "--title=New folder", "--text=Name of the new folder:", "--entry-text=Holiday photos"],
     ["Name of the new folder:", "Holiday photos"]),
    ("list", ["--list", "--title=Downloads", "--width=560", "--height=320", "--column=File", "--column=Size",
              "--column=Status", "report.pdf", "2.1 MB", "Done", "photos.zip", "48 MB", "Waiting",
              "notes.txt", "4 kB", "Done"],
     ["File\tSize\tStatus", "report.pdf\t2.1 MB\tDone", "photos.zip\t48 MB\tWaiting"]),
    ("forms", ["--forms", "--title=Contact", "--text=New contact", "--add-entry=First name",
               "--add-entry=Last name", "--add-entry=Email"], ["New contact", "First name", "Last name", "Email"]),
    ("progress", ["--progress", "--title=Copying", "--text=Copying files to the USB stick", "--percentage=40"],
     ["Copying files to the USB stick"]),
    ("textinfo", ["--text-info", "--title=Licence", "--width=700", "--height=480",
                  f"--filename={LICENCES / 'GPL-3'}"], ["GNU GENERAL PUBLIC LICENSE"]),
    ("chinese", ["--question", "--title=保存", "--text=是否保存对文档的更改？\nSave changes to the document?"],
     ["是否保存对文档的更改", "Save changes to the document?"]),
)

XTERMS = (  # (name, options, lines printed)
    ("light", ["-bg", "white", "-fg", "black"], ["$ ls Documents", "budget.ods  letter.odt  notes.txt",
                                                  "$ cat notes.txt", "Call the bank on Monday"]),
    ("dark", ["-bg", "black", "-fg", "grey90"], ["user@debian:~$ df -h /home", "Filesystem Size Used Avail Use%",
                                                 "/dev/sda2 220G 131G 78G 63%"]),
    ("chinese", ["-bg", "black", "-fg", "white", "-fa", "Noto Sans Mono CJK SC"],
     ["$ cat 说明.txt", "欢迎使用本程序", "Welcome to the program"]),
)


def screens(out: Path) -> list[Sample]:
    from devtools.xvfb import start_xvfb, stop_xvfb

    server = start_xvfb(1280, 720, 15.0)
    env = server.env(GTK_THEME="Adwaita", NO_AT_BRIDGE="1", LANG="C.UTF-8")
    samples: list[Sample] = []
    try:
        for name, args, text in ZENITY:
            proc = subprocess.Popen(["zenity", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _capture_window(env, proc.pid, out / f"screen-zenity-{name}.png")
            finally:
                proc.kill()
                proc.wait()
            samples.append(Sample(f"screen-zenity-{name}", "screen", text, f"zenity {args[0]}",
                                  "zh" if name == "chinese" else None))
        for name, options, lines in XTERMS:
            samples.append(_xterm(out, env, name, options, lines, "tune"))
        dark = dict(env, GTK_THEME="Adwaita:dark")
        for name, args, text in ZENITY[:6]:
            proc = subprocess.Popen(["zenity", *args], env=dark, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _capture_window(dark, proc.pid, out / f"screen-zenity-dark-{name}.png")
            finally:
                proc.kill()
                proc.wait()
            samples.append(Sample(f"screen-zenity-dark-{name}", "screen", text, f"zenity {args[0]}, dark theme",
                                  split="held-out"))
        for name, options, lines in XTERMS_HELD_OUT:
            samples.append(_xterm(out, env, name, options, lines, "held-out"))
        samples += _qt_screens(out, env)
    finally:
        stop_xvfb(server)
    return samples


XTERMS_HELD_OUT = (
    ("green", ["-bg", "black", "-fg", "green", "-fs", "14"], ["$ uptime", "up 3 days, 2 users, load average: 0.15"]),
    ("paper", ["-bg", "lightyellow", "-fg", "black"], ["$ cal", "Mo Tu We Th Fr Sa Su", "$ echo Done"]),
)


def _xterm(out: Path, env: dict[str, str], name: str, options: list[str], lines: list[str], split: str) -> Sample:
    script = "printf '%s\\n' " + " ".join(_quote(l) for l in lines) + "; sleep 60"
    proc = subprocess.Popen(["xterm", "-geometry", "90x24", "-fa", "DejaVu Sans Mono", "-fs", "12",
                             *options, "-e", "sh", "-c", script], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _capture_window(env, proc.pid, out / f"screen-xterm-{name}.png", settle=1.5)
    finally:
        proc.kill()
        proc.wait()
    return Sample(f"screen-xterm-{name}", "screen", lines, "xterm", "zh" if name == "chinese" else None,
                  split=split)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _capture_window(env: dict[str, str], pid: int, path: Path, settle: float = 1.0, timeout: float = 20.0) -> None:
    """Wait for the program's window to be mapped and painted, then save it (xwd: the X server's pixels)."""
    deadline = time.monotonic() + timeout
    window = ""
    while time.monotonic() < deadline and not window:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(pid)], env=env,
                               capture_output=True, text=True)
        window = found.stdout.split()[-1] if found.stdout.split() else ""
        if not window:
            time.sleep(0.2)
    if not window:
        raise CorpusUnavailable(f"no window appeared for pid {pid}")
    time.sleep(settle)
    with tempfile.NamedTemporaryFile(suffix=".xwd") as dump:
        subprocess.run(["xwd", "-silent", "-id", window, "-out", dump.name], env=env, check=True, timeout=20)
        _save(_read_xwd(Path(dump.name)), path)


def _read_xwd(path: Path) -> Image.Image:
    """An XWD dump (ZPixmap, 24/32 bits, as Xvfb writes it) as an RGB image."""
    import struct

    import numpy as np

    data = path.read_bytes()
    header = struct.unpack(">25I", data[:100])
    header_size, width, height = header[0], header[4], header[5]
    bits_per_pixel, bytes_per_line, ncolors = header[11], header[12], header[19]
    if bits_per_pixel != 32:
        raise CorpusUnavailable(f"xwd depth {bits_per_pixel} is not handled")
    start = header_size + ncolors * 12
    pixels = np.frombuffer(data[start:start + bytes_per_line * height], dtype=np.uint8)
    pixels = pixels.reshape(height, bytes_per_line)[:, :width * 4].reshape(height, width, 4)
    byte_order = header[7]  # 0 LSBFirst: B, G, R, x in memory
    rgb = pixels[:, :, [2, 1, 0]] if byte_order == 0 else pixels[:, :, [1, 2, 3]]
    return Image.fromarray(np.ascontiguousarray(rgb))


QT_SCENES = ["qt-form", "qt-table", "qt-mail", "qt-dialog", "qt-settings-zh", "qt-form-dark", "qt-editor"]


def _qt_screens(out: Path, env: dict[str, str]) -> list[Sample]:
    script = Path(__file__).with_name("reading_corpus_qt.py")
    done = subprocess.run([sys.executable, str(script), str(out)], env=env, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise CorpusUnavailable(f"the Qt screens failed: {done.stderr[-800:]}")
    return [Sample(**json.loads(line)) for line in done.stdout.splitlines() if line.startswith("{")]


def _save(image: Image.Image, path: Path) -> None:
    image.convert("RGB").save(path, optimize=False, compress_level=1)


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/reading-corpus")
    built = build(root)
    for s in built:
        print(s.kind, s.name, s.text[:3])
    print(len(built), "samples in", root)
