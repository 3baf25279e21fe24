"""One settings file, several programs: the app, `voices`/`say`, a hand edit. A save writes the fields
it changed onto what the file holds now, so nobody's change is undone by an older copy."""
from __future__ import annotations

from describe_aloud.engine.config import Settings, settings_path


def test_a_save_keeps_what_another_program_saved_since_and_reports_it():
    app = Settings.load()  # the app, started long ago
    other = Settings.load()
    other.volume = 0.5
    other.hotkeys = {**other.hotkeys, "describe_screen": "ctrl+alt+f9"}
    other.save_changes(["volume", "hotkeys"])

    app.detail = True
    outside = app.save_changes(["detail"])

    saved = Settings.load()
    assert (saved.detail, saved.volume, saved.hotkeys["describe_screen"]) == (True, 0.5, "ctrl+alt+f9")
    assert sorted(outside) == ["hotkeys", "volume"]
    assert app.volume == 0.5  # taken over, for the caller to apply


def test_a_damaged_file_is_kept_aside_and_the_apps_settings_are_written_whole():
    app = Settings(rate=240, voice="gmw/en-us")
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text("{not json", encoding="utf-8")

    assert app.save_changes(["rate"]) == []

    saved = Settings.load()
    assert (saved.rate, saved.voice) == (240, "gmw/en-us")
    assert [p.read_text(encoding="utf-8") for p in settings_path().parent.glob("settings.json.damaged-*")] \
        == ["{not json"]


def test_reload_takes_over_a_finished_edit_but_not_one_half_written():
    app = Settings.load()
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"rate": 150, "voice": ', encoding="utf-8")
    assert app.reload() == ([], []) and app.rate == 180
    settings_path().write_text('{"rate": 150, "voice": "gmw/en-us"}', encoding="utf-8")
    changed, unusable = app.reload()
    assert sorted(changed) == ["rate", "voice"] and unusable == [] and (app.rate, app.voice) == (150, "gmw/en-us")


def test_reload_takes_the_usable_values_keeps_its_own_for_the_others_and_leaves_the_file_alone():
    app = Settings.load()
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"rate": "fast", "volume": 0.5}', encoding="utf-8")
    assert app.reload() == (["volume"], ["rate"])
    assert (app.rate, app.volume) == (180, 0.5)
    assert not list(settings_path().parent.glob("*.damaged-*"))
