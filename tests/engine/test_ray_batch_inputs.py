"""What a Ray batch describes: a folder, a list file, a glob; shards whose IDs survive a rerun (no Ray)."""
from __future__ import annotations

import pytest

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.ray_batch.inputs import glob_regex, make_shards, resolve_inputs
from describe_aloud.engine.ray_batch.manifest import RunFolder


def test_folder_is_listed_as_local_batch_lists_it(photo_folder):
    from describe_aloud.engine.batch import scan_folder

    inputs = resolve_inputs(str(photo_folder.root), recursive=True)
    assert [i.rel for i in inputs.images] == scan_folder(photo_folder.root, recursive=True)
    assert all(i.source == str(photo_folder.root.resolve() / i.rel) for i in inputs.images)


def test_list_file_keeps_paths_as_written_once_each(tmp_path, photo_folder):
    listing = tmp_path / "paths.txt"
    absolute = str(photo_folder.root / "garden.png")
    listing.write_text(f"# the archive\nPhotos/beach.jpg\n\n{absolute}\nPhotos/beach.jpg\n", encoding="utf-8")
    inputs = resolve_inputs(str(listing), recursive=False)
    assert [i.rel for i in inputs.images] == sorted(["Photos/beach.jpg", absolute])
    assert {i.source for i in inputs.images} == {str(tmp_path.resolve() / "Photos/beach.jpg"), absolute}


def test_glob_matches_like_a_shell(photo_folder):
    root = photo_folder.root
    top = resolve_inputs(str(root / "*.jpg"), recursive=False)
    assert [i.rel for i in top.images] == ["beach.jpg", "truncated.jpg"]  # not holiday/*.jpg, not .hidden.jpg
    deep = resolve_inputs(str(root / "**" / "*.png"), recursive=False)
    assert [i.rel for i in deep.images] == ["empty.png", "garden.png", "holiday/2024/night.png", "huge.png"]
    assert glob_regex("a/[!b]?.jpg").fullmatch("a/cx.jpg") and not glob_regex("a/*.jpg").fullmatch("a/b/c.jpg")


def test_something_else_is_refused_with_exit_code_2(tmp_path):
    (tmp_path / "notes.md").write_text("hello", encoding="utf-8")
    with pytest.raises(UserFacingError) as caught:
        resolve_inputs(str(tmp_path / "notes.md"), recursive=False)
    assert caught.value.exit_code == 2


def test_shard_ids_are_stable_and_change_with_the_settings(photo_folder):
    images = resolve_inputs(str(photo_folder.root), recursive=True).images
    first = make_shards(images, 4, settings="git-base")
    assert [s.id for s in first] == [s.id for s in make_shards(images, 4, settings="git-base")]
    assert [len(s.images) for s in first] == [4, 4, 4, 1]
    assert not {s.id for s in first} & {s.id for s in make_shards(images, 4, settings="florence-2-base")}


@pytest.mark.parametrize("parquet", [False, True])
def test_a_shard_counts_as_finished_only_with_its_file_and_manifest_line(tmp_path, parquet):
    run = RunFolder(tmp_path / "run", parquet=parquet)
    run.create()
    record = {"path": "a.jpg", "status": "described", "kind": "photo", "alt_text": "A cat.", "caption": "a cat",
              "detailed_caption": "", "ocr_text": "", "model_id": "m", "described_at": "t", "width": 4,
              "height": 3, "error": ""}
    run.write_shard("000000-abc", [record])
    with open(run.manifest, "a", encoding="utf-8") as fh:
        fh.write('{"shard": "000001-de')  # a driver killed while appending: ignored
    assert run.finished() == {"000000-abc"}
    got = list(run.records(["000000-abc"]))
    assert got[0]["alt_text"] == "A cat." and str(got[0]["width"]) == "4"
    run.shard_file("000000-abc").unlink()
    assert run.finished() == set()
