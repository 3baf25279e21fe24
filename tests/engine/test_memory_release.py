"""Memory the app gives back (engine.memory_release, issue 17): the captions and the text read stay the same
with it, packed captioners keep no plain copy of their weights, and the text reader's warm-up still loads
all of its models with the smaller, screen-shaped sample."""
from __future__ import annotations

import os
import sys

import pytest
import torch
from PIL import Image

from describe_aloud import engine
from describe_aloud.engine import environment, memory_release
from describe_aloud.engine.captioners import decode_path, packed_linear
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.engine.ocr_engines import OcrSettings
from tests.fixtures.images import LEFT_COLUMN, RIGHT_COLUMN, two_column_image


def _images():
    return [Image.new("RGB", (64, 48), (200, 40, 40)), Image.linear_gradient("L").resize((64, 64)).convert("RGB")]


def _load(path, monkeypatch, *, packed: str, trim: str):
    monkeypatch.setenv(decode_path.ENV_FORCE, packed)
    monkeypatch.setenv(environment.MEMORY_TRIM.name, trim)
    captioner = engine.load_captioner(str(path), precision="bf16", device="cpu")
    return captioner, [r.caption for r in captioner.caption(_images())]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's (Linux)")
def test_freed_memory_is_given_back_on_linux_unless_turned_off(monkeypatch):
    monkeypatch.delenv(environment.MEMORY_TRIM.name, raising=False)
    assert memory_release.release_freed_memory()
    monkeypatch.setenv(environment.MEMORY_TRIM.name, "0")
    assert not memory_release.release_freed_memory()


_GPU_LIBRARIES = r"""
import json, sys
import torch
from PIL import Image
from describe_aloud import engine
from describe_aloud.engine import memory_release

def resident_kb():
    # KB resident in the GPU-only libraries' read-only mappings: (all, their code).
    kinds = {(start, end): perms for start, end, perms, _, _ in memory_release.gpu_library_mappings()}
    total = code = 0
    kind = None
    for line in open("/proc/self/smaps"):
        head = line.split()[0]
        if "-" in head and all(c in "0123456789abcdef-" for c in head):
            start, end = (int(x, 16) for x in head.split("-"))
            kind = kinds.get((start, end))
        elif kind and line.startswith("Rss:"):
            total += int(line.split()[1])
            code += int(line.split()[1]) if kind == "r-xp" else 0
    return total, code

imported = resident_kb()
captioner = engine.load_captioner(sys.argv[1], precision="bf16", device="cpu")  # the load's trim drops them
loaded = resident_kb()
captions = [r.caption for r in captioner.caption([Image.new("RGB", (64, 48), (200, 40, 40))])]
print(json.dumps({"mapped": len(memory_release.gpu_library_mappings()), "imported": imported,
                  "loaded": loaded, "captioned": resident_kb(), "captions": captions}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise(MADV_PAGEOUT) is Linux's")
def test_pages_of_gpu_only_libraries_are_handed_back_while_cuda_is_unused(tiny_git_dir):
    """A fresh interpreter (what the app does after its load): the CUDA build of torch maps CUDA's libraries
    and touches their pages; they leave the resident set, the captions stay the same and they stay out."""
    import json
    import subprocess

    def run(trim: str) -> dict:
        env = {**os.environ, environment.MEMORY_TRIM.name: trim}
        done = subprocess.run([sys.executable, "-c", _GPU_LIBRARIES, str(tiny_git_dir)], capture_output=True,
                              text=True, timeout=300, check=False, env=env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    kept, dropped = run("0"), run("1")
    if not dropped["mapped"]:
        pytest.skip("this torch maps no CUDA libraries (a CPU-only build): nothing to hand back")
    assert dropped["captions"][0] and dropped["captions"] == kept["captions"]
    (imported, imported_code), (kept_all, kept_code) = dropped["imported"], kept["captioned"]
    assert imported > 20_000 and imported_code > 10_000  # KB touched by torch's import
    assert kept_all > kept["imported"][0] / 2 and kept_code > kept["imported"][1] / 2  # no trim: they stay
    # With it: their code leaves (the data pages this test's own process shares, or that were written, may
    # stay: PAGEOUT keeps those), and stays out after a caption.
    for total, code in (dropped["loaded"], dropped["captioned"]):
        assert code < imported_code / 20 and total < imported / 2


def _smaps(tmp_path, text: str) -> str:
    path = tmp_path / "smaps"
    path.write_text(text)
    return str(path)


def test_the_mappings_are_read_from_smaps_as_they_are_written(tmp_path):
    site = "/usr/lib/python3/site-packages/nvidia/cublas/lib"
    smaps = _smaps(tmp_path, f"""\
7f0000000000-7f0000100000 r--p 00000000 fe:01 11 {site}/libcublasLt.so.13
Rss:                 400 kB
Anonymous:            12 kB
Swap:                  0 kB
7f0000100000-7f0000900000 r-xp 00100000 fe:01 11 {site}/libcublasLt.so.13
Rss:                8000 kB
Anonymous:             0 kB
Swap:                  8 kB
7f0000900000-7f0000a00000 rw-p 00900000 fe:01 11 {site}/libcublasLt.so.13
Anonymous:            64 kB
7f0000a00000-7f0000b00000 r-xp 00000000 fe:01 12 /opt/my app/torch/lib/libtorch_cuda.so (deleted)
Anonymous:             0 kB
Swap:                  0 kB
7f0000b00000-7f0000c00000 r-xp 00000000 fe:01 13 /usr/lib/x86_64-linux-gnu/libgomp.so.1
7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0                          [vdso]
7ffc00002000-7ffc00003000 r--p 00000000 00:00 0
""")
    got = memory_release.gpu_library_mappings(smaps)
    # A library whose file was replaced since (an upgrade under the running app) is still mapped from its
    # old file, which stays readable while mapped; a path with spaces is read whole.
    assert [(hex(start), perms, own) for start, _end, perms, _path, own in got] == [
        ("0x7f0000000000", "r--p", 12), ("0x7f0000100000", "r-xp", 8), ("0x7f0000a00000", "r-xp", 0)]
    assert got[2][3] == "/opt/my app/torch/lib/libtorch_cuda.so (deleted)"


def test_only_code_never_copied_by_this_process_is_dropped_the_rest_only_paged_out(monkeypatch):
    calls = []
    monkeypatch.setattr(memory_release, "_madvise", lambda: lambda start, length, how: calls.append((start, how)) or 0)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    monkeypatch.setattr(memory_release, "gpu_library_mappings", lambda: [
        (0x1000, 0x2000, "r-xp", "/x/nvidia/a.so", 0),  # code, the file's own pages: dropped
        (0x2000, 0x3000, "r-xp", "/x/nvidia/a.so", 4),  # code with a page in swap (or copied): paged out
        (0x3000, 0x4000, "r--p", "/x/nvidia/a.so", 0),  # read-only data (maybe relocated): paged out
    ])
    assert memory_release.release_unused_gpu_libraries() == 3 * 0x1000
    assert calls == [(0x1000, memory_release._MADV_DONTNEED), (0x2000, memory_release._MADV_PAGEOUT),
                     (0x3000, memory_release._MADV_PAGEOUT)]


def test_gpu_library_pages_stay_while_cuda_is_in_use_or_trimming_is_off(monkeypatch):
    monkeypatch.delenv(environment.MEMORY_TRIM.name, raising=False)
    if sys.platform.startswith("linux") and memory_release.gpu_library_mappings():
        assert memory_release.release_unused_gpu_libraries() > 0  # this process, CUDA unused: handed back
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    assert memory_release.release_unused_gpu_libraries() == 0
    monkeypatch.undo()
    monkeypatch.setenv(environment.MEMORY_TRIM.name, "0")
    assert memory_release.release_unused_gpu_libraries() == 0


def test_without_malloc_trim_nothing_happens_and_nothing_breaks(monkeypatch):
    monkeypatch.delenv(environment.MEMORY_TRIM.name, raising=False)
    monkeypatch.setattr(memory_release, "_malloc_trim", lambda: None)  # Windows, macOS, musl
    assert not memory_release.release_freed_memory()


def test_a_packed_captioner_keeps_no_plain_weights_and_captions_as_the_plain_model(tiny_git_dir, monkeypatch):
    packed_linear.packed_linear_works.cache_clear()
    if not packed_linear.packed_linear_works():
        pytest.skip("oneDNN packed linear is not in this torch build (not x86-64)")
    plain, plain_captions = _load(tiny_git_dir, monkeypatch, packed="0", trim="0")
    packed, packed_captions = _load(tiny_git_dir, monkeypatch, packed="1", trim="1")
    assert all(plain_captions) and packed_captions == plain_captions
    assert packed.packed_linear_layers > 0
    # The plain weights of packed layers are gone (only a weight tied to an embedding stays, as the embedding).
    linear_weights = {id(m.weight) for m in plain.model.modules() if isinstance(m, torch.nn.Linear)}
    embedding_weights = {id(m.weight) for m in plain.model.modules() if isinstance(m, torch.nn.Embedding)}
    assert not any(hasattr(m, "weight") and "weight" in m._parameters
                   for m in packed.model.modules() if type(m).__name__ == "PackedLinear")
    kept = sum(p.numel() for p in packed.model.parameters())
    plain_total = sum(p.numel() for p in plain.model.parameters())
    plain_linear = sum(m.weight.numel() for m in plain.model.modules()
                       if isinstance(m, torch.nn.Linear) and id(m.weight) not in embedding_weights)
    assert linear_weights and kept == plain_total - plain_linear


def test_the_text_reader_warm_up_reads_its_sample_and_then_the_screen(monkeypatch):
    """The warm-up sample (16:9 now, so the detector's buffers are a screen's size) still holds text that is
    found and read: detector, classifier and recogniser are all loaded before the first hotkey."""
    ocr = OcrEngine()
    results = []
    real_engine = ocr._engine

    def recording_engine():
        run = real_engine()

        def call(array):
            results.append(run(array))
            return results[-1]

        return call

    monkeypatch.setattr(ocr, "_engine", recording_engine)
    ocr.warm_up()
    assert list(results[0].txts) == ["Ready"]
    lines = ocr.read(two_column_image(title="Weekend plans"))
    assert [line.text for line in lines] == ["Weekend plans", *LEFT_COLUMN, *RIGHT_COLUMN]


def _screen_page():
    return two_column_image(title="Weekend plans")


@pytest.mark.parametrize("engine_name", ["openvino", "onnxruntime"])
def test_the_text_reader_gives_back_its_buffers_and_reads_the_same_text_afterwards(engine_name):
    """OpenVINO keeps the buffers of the largest image read until asked (engine/ocr_memory.py): released,
    the next read allocates them again and reads the same text. onnxruntime keeps none: nothing to do."""
    if engine_name == "openvino":
        pytest.importorskip("openvino")  # no wheel for some platforms (Intel macOS): onnxruntime reads there
    ocr = OcrEngine(settings=OcrSettings(engine=engine_name))
    assert ocr.release_memory() == 0  # nothing built yet
    before = [line.text for line in ocr.read(_screen_page())]
    assert ocr.engine_name == engine_name
    released = ocr.release_memory()
    models = 2 + (1 if ocr.settings.use_cls else 0)  # detector, recogniser (and the classifier when on)
    assert released == (models if engine_name == "openvino" else 0)
    assert [line.text for line in ocr.read(_screen_page())] == before == [
        "Weekend plans", *LEFT_COLUMN, *RIGHT_COLUMN]


def test_the_buffers_are_not_released_under_a_read_and_not_when_trimming_is_off(monkeypatch):
    pytest.importorskip("openvino")
    ocr = OcrEngine(settings=OcrSettings(engine="openvino"))
    ocr.read(_screen_page())
    with ocr._warm_lock:  # a read (or the warm-up) in progress on another thread
        assert ocr.release_memory() == 0
    calls = []
    monkeypatch.setattr(ocr, "release_memory", lambda: calls.append(1) or 3)
    monkeypatch.setenv(environment.MEMORY_TRIM.name, "0")
    assert not memory_release.release_idle_memory([ocr]) and calls == []
    monkeypatch.delenv(environment.MEMORY_TRIM.name)
    memory_release.release_idle_memory([ocr])
    assert calls == [1]
