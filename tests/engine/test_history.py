"""The history store: kept across restarts, searchable, thumbnails, bounded."""
from __future__ import annotations

import io

from PIL import Image

from describe_aloud.engine import render
from describe_aloud.engine.description import Description, ImageKind, TextLine
from describe_aloud.engine.history import HistoryStore, history_path, make_thumbnail


def _description(caption: str, text: str = "", kind: ImageKind = ImageKind.PHOTO) -> Description:
    lines = [TextLine(text, (0, 0, 10, 10), 0.9)] if text else []
    return Description(kind=kind, caption=caption, text_lines=lines, model_id="tiny", source="test")


def test_history_survives_a_restart():
    image = Image.new("RGB", (640, 480), (200, 30, 30))
    store = HistoryStore()
    first = store.add(_description("a red wall"), source="photo.jpg", image=image)
    store.add(_description("a login form", "Password", ImageKind.SCREEN), source="screen")
    store.close()

    assert history_path().exists()
    reopened = HistoryStore()  # a new "run" of the app
    entries = reopened.recent()
    assert [e.source for e in entries] == ["screen", "photo.jpg"]
    latest = reopened.latest()
    assert latest.kind == "screen"
    assert "Password" in latest.text
    restored = reopened.get(first.id).to_description()
    assert restored.caption == "a red wall"
    thumb = Image.open(io.BytesIO(reopened.get(first.id).thumbnail))
    assert max(thumb.size) <= 160 and thumb.size[0] > thumb.size[1]
    reopened.close()


def test_search_matches_every_word_case_insensitively_newest_first():
    with HistoryStore() as store:
        store.add(_description("a dog on a beach"), source="a.jpg", when=1.0)
        store.add(_description("a cat on a sofa"), source="b.jpg", when=2.0)
        store.add(_description("a dog on a sofa"), source="c.jpg", when=3.0)
        assert [e.source for e in store.search("DOG")] == ["c.jpg", "a.jpg"]
        assert [e.source for e in store.search("dog sofa")] == ["c.jpg"]
        assert [e.source for e in store.search("b.jpg")] == ["b.jpg"]
        assert store.search("giraffe") == []
        # LIKE wildcards in the query are literal characters, not patterns.
        assert store.search("%") == []
        assert len(store.search("")) == 3


def test_more_detail_joins_the_kept_description_and_delete():
    with HistoryStore() as store:
        first = _description("a kitchen", text="Total 12.50", kind=ImageKind.SCREEN)
        entry = store.add(first, source="k.jpg")
        detail = Description(kind=ImageKind.PHOTO, detailed_caption="a kitchen with a white fridge",
                             model_id="florence-2-base")  # what add_detail makes: no OCR, no kind of its own
        store.add_detail(entry.id, detail, render.describe(first) + render.more_detail(detail))
        kept = store.get(entry.id)
        assert "white fridge" in kept.text
        again = kept.to_description()
        assert again.kind is ImageKind.SCREEN and again.caption == "a kitchen"
        assert [t.text for t in again.text_lines] == ["Total 12.50"]
        assert again.detailed_caption == "a kitchen with a white fridge" and again.model_id == first.model_id
        store.delete(entry.id)
        assert store.get(entry.id) is None


def test_history_is_bounded(tmp_path):
    with HistoryStore(tmp_path / "h.sqlite3", max_entries=5) as store:
        for i in range(12):
            store.add(_description(f"picture {i}"), source=f"{i}.jpg", when=float(i))
        assert store.count() == 5
        assert store.latest().source == "11.jpg"


def test_thumbnail_of_unusual_modes():
    assert make_thumbnail(Image.new("P", (50, 20))) is not None
    assert make_thumbnail(Image.new("I;16", (50, 20))) is not None
    assert make_thumbnail(None) is None


def test_the_history_is_readable_by_its_user_only_also_when_an_older_version_made_it_open(tmp_path):
    """Screen texts can hold a password read off the screen: another user of the computer must not read
    them, whatever the umask (Debian's 022 makes 0755 folders and 0644 files)."""
    import os
    import stat

    old_umask = os.umask(0o022)
    try:
        data = history_path().parent
        assert not data.exists()
        store = HistoryStore()
        store.add(Description(kind=ImageKind.SCREEN, text_lines=[TextLine("Password: hunter2", (0, 0, 9, 9), 0.9)]),
                  source="screen")
        store.close()
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE(history_path().stat().st_mode) == 0o600
        # As an older version left them: open to all. Closed when the history is opened, nothing lost.
        data.chmod(0o755)
        history_path().chmod(0o644)
        wal = history_path().with_name(history_path().name + "-wal")
        wal.write_bytes(b"")
        wal.chmod(0o644)
        with HistoryStore() as store:
            assert "hunter2" in store.recent()[0].text
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE(history_path().stat().st_mode) == 0o600
        assert not wal.exists() or stat.S_IMODE(wal.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


def test_a_data_folder_whose_mode_cannot_change_keeps_the_history(tmp_path, monkeypatch):
    """A FAT stick or a read-only mount refuses chmod: the history is still kept there, and the memory-only
    history the app falls back to never leaves a file named ':memory:' behind."""
    from pathlib import Path

    def refused(self, mode, **kwargs):
        raise PermissionError(1, "Operation not permitted", str(self))

    history_path().parent.mkdir(parents=True, mode=0o755)
    history_path().parent.chmod(0o755)
    monkeypatch.setattr(Path, "chmod", refused)
    with HistoryStore() as store:
        store.add(Description(kind=ImageKind.PHOTO, caption="a boat"), source="boat.jpg")
        assert store.recent()[0].source == "boat.jpg"
    monkeypatch.chdir(tmp_path)
    with HistoryStore(Path(":memory:")) as store:
        store.add(Description(kind=ImageKind.PHOTO, caption="a boat"), source="boat.jpg")
    assert not (tmp_path / ":memory:").exists()
