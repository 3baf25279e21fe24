"""Screen capture: geometry on synthetic monitor layouts, pixel conversion, near-black, and real grabs under Xvfb."""
from __future__ import annotations

import threading

import pytest
from PIL import Image, ImageDraw, ImageFont

from describe_aloud.engine import capture as cap

# A laptop (primary, 0,0) with a monitor to its LEFT and one ABOVE it: negative offsets.
LEFT = {"left": -1920, "top": 0, "width": 1920, "height": 1080}
PRIMARY = {"left": 0, "top": 0, "width": 1280, "height": 800, "is_primary": True}
ABOVE = {"left": 0, "top": -1440, "width": 2560, "height": 1440}
MONITORS = [LEFT, PRIMARY, ABOVE]
UNION = {"left": -1920, "top": -1440, "width": 1920 + 2560, "height": 1440 + 1080}
MSS_LIST = [UNION, *MONITORS]


def test_pointer_on_negative_offset_monitor_picks_that_monitor():
    assert cap.monitor_for_point(MONITORS, (-5, 500)) is LEFT
    assert cap.monitor_for_point(MONITORS, (-1920, 0)) is LEFT
    assert cap.monitor_for_point(MONITORS, (100, -1)) is ABOVE
    assert cap.monitor_for_point(MONITORS, (0, 0)) is PRIMARY


def test_no_pointer_means_primary_and_gap_means_nearest_monitor():
    assert cap.monitor_for_point(MONITORS, None) is PRIMARY
    # Below the left monitor's bottom edge and left of the primary one: nearest is LEFT.
    assert cap.monitor_for_point(MONITORS, (-10, 1200)) is LEFT
    # Right of the primary but below the monitor above: nearest is PRIMARY.
    assert cap.monitor_for_point(MONITORS, (1400, 600)) is PRIMARY


def test_plan_monitor_under_pointer_and_all_monitors():
    source, box, note = cap.plan_capture("monitor_under_pointer", MSS_LIST, pointer=(-100, 100))
    assert (source, box, note) == ("monitor_under_pointer", (-1920, 0, 1920, 1080), None)
    source, box, _ = cap.plan_capture("all_monitors", MSS_LIST, pointer=None)
    assert box == (-1920, -1440, 4480, 2520)


def test_region_around_pointer_stays_inside_its_monitor():
    # Near the left edge of the left monitor: the 800x600 box is shifted right, not cut.
    _, box, _ = cap.plan_capture("region_around_pointer", MSS_LIST, pointer=(-1900, 10), region_size=(800, 600))
    assert box == (-1920, 0, 800, 600)
    # In the middle: centred on the pointer.
    _, box, _ = cap.plan_capture("region_around_pointer", MSS_LIST, pointer=(640, 400), region_size=(200, 100))
    assert box == (540, 350, 200, 100)
    # Larger than the monitor: the monitor.
    _, box, _ = cap.plan_capture("region_around_pointer", MSS_LIST, pointer=(10, 10), region_size=(5000, 5000))
    assert box == (0, 0, 1280, 800)


def test_active_window_clipped_to_screens_or_falls_back_with_a_note():
    source, box, note = cap.plan_capture("active_window", MSS_LIST, pointer=(5, 5), window_rect=(-50, 10, 300, 200))
    assert (source, box, note) == ("active_window", (-50, 10, 300, 200), None)
    # A window hanging off the bottom of the left monitor is cut to what is visible.
    _, box, _ = cap.plan_capture("active_window", MSS_LIST, pointer=(5, 5), window_rect=(-1000, 900, 400, 400))
    assert box[3] < 400 and box[0] == -1000
    source, box, note = cap.plan_capture("active_window", MSS_LIST, pointer=(5, 5), window_rect=None)
    assert source == "monitor_under_pointer" and box == (0, 0, 1280, 800)
    assert "could not be found" in note


def test_unknown_target_is_an_error():
    with pytest.raises(ValueError, match="unknown capture target"):
        cap.plan_capture("somewhere", MSS_LIST, pointer=None)


def test_hidpi_scale_and_logical_point_mapping():
    # macOS Retina: a 1440x900-point monitor grabbed as 2880x1800 pixels.
    assert cap.hidpi_scale((0, 0, 1440, 900), (2880, 1800)) == 2.0
    assert cap.hidpi_scale((0, 0, 1920, 1080), (1920, 1080)) == 1.0
    # Windows at 150 %: Qt says the left monitor is 1280x720 at (-1280, 0); mss says 1920x1080 at (-1920, 0).
    assert cap.map_logical_point((-640, 360), (-1280, 0, 1280, 720), (-1920, 0, 1920, 1080)) == (-960, 540)
    point = cap.map_logical_point((-1, 0), (-1280, 0, 1280, 720), (-1920, 0, 1920, 1080))
    assert cap.monitor_for_point(MONITORS, point) is LEFT


def test_bgra_buffer_becomes_rgb_image_without_channel_swap_errors():
    # One red, one green, one blue, one white pixel, as mss delivers them (B, G, R, A).
    raw = bytes([0, 0, 255, 255, 0, 255, 0, 255, 255, 0, 0, 255, 255, 255, 255, 255])
    image = cap.shot_to_image(raw, (2, 2))
    assert image.mode == "RGB" and image.size == (2, 2)
    assert [image.getpixel(p) for p in [(0, 0), (1, 0), (0, 1), (1, 1)]] == [
        (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]


def test_near_black_detection():
    assert cap.is_near_black(Image.new("RGB", (1920, 1080), (0, 0, 0)))
    assert cap.is_near_black(Image.new("RGB", (1920, 1080), (3, 3, 3)))
    # A dark theme with a line of light text is a real screen, not a permission problem.
    dark = Image.new("RGB", (1920, 1080), (18, 18, 18))
    ImageDraw.Draw(dark).text((40, 40), "Inbox (3)", fill=(230, 230, 230))
    assert not cap.is_near_black(dark)
    black_with_text = Image.new("RGB", (1920, 1080), (0, 0, 0))
    ImageDraw.Draw(black_with_text).rectangle((100, 100, 400, 140), fill=(255, 255, 255))
    assert not cap.is_near_black(black_with_text)


def test_permission_hint_names_the_fix_for_each_platform():
    assert "Screen Recording" in cap.permission_hint("darwin")
    assert "Privacy & Security" in cap.permission_hint("darwin")
    wayland = cap.permission_hint("linux", {"XDG_SESSION_TYPE": "wayland"})
    assert "Wayland" in wayland and "X11" in wayland
    assert "Wayland" not in cap.permission_hint("linux", {"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"})
    assert cap.permission_hint("win32").startswith("Windows")


def test_no_display_is_a_clear_user_facing_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "tty")
    result: list[BaseException] = []

    def run():  # a fresh thread: its own (not yet created) mss instance
        try:
            cap.capture("monitor_under_pointer")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            result.append(exc)
        finally:
            cap.close_thread_capturer()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert result and isinstance(result[0], cap.CaptureError)
    assert "DISPLAY" in str(result[0])


# ---------------------------------------------------------------------------------------------------
# Real grabs under Xvfb
# ---------------------------------------------------------------------------------------------------


def _known_picture(path, size=(640, 360)):
    """Left half pure red, right half pure blue, a white band with big black text."""
    image = Image.new("RGB", size, (255, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((size[0] // 2, 0, size[0], size[1]), fill=(0, 0, 255))
    draw.rectangle((0, size[1] - 100, size[0], size[1]), fill=(255, 255, 255))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 48)
    draw.text((20, size[1] - 85), "HELLO CAPTURE", fill=(0, 0, 0), font=font)
    image.save(path)
    return image


@pytest.mark.xvfb
def test_capture_monitor_under_pointer_returns_the_screen_with_known_content(xvfb, show_picture, tmp_path):
    _known_picture(tmp_path / "known.png")
    show_picture(tmp_path / "known.png", x=100, y=50)
    try:
        result = cap.capture("monitor_under_pointer")
    finally:
        cap.close_thread_capturer()
    assert result.image.mode == "RGB"
    assert result.image.size == (xvfb.width, xvfb.height)
    assert result.box == (0, 0, xvfb.width, xvfb.height)
    assert result.source == "monitor_under_pointer" and result.scale == 1.0
    # The picture's red and blue halves are where the window was put; outside it, the black root window.
    assert result.image.getpixel((100 + 50, 50 + 50)) == (255, 0, 0)
    assert result.image.getpixel((100 + 600, 50 + 50)) == (0, 0, 255)
    assert result.image.getpixel((100 + 200, 50 + 330)) == (255, 255, 255)
    assert result.image.getpixel((1200, 700)) == (0, 0, 0)
    assert not result.near_black
    assert result.elapsed_ms > 0


@pytest.mark.xvfb
def test_capture_region_and_active_window_under_xvfb(xvfb, show_picture, tmp_path):
    _known_picture(tmp_path / "known.png")
    window = show_picture(tmp_path / "known.png", x=300, y=200)
    try:
        region = cap.capture("region_around_pointer", pointer=(300 + 160, 200 + 100), region_size=(100, 80))
        rect_given = cap.capture("active_window", window_rect=(300, 200, 640, 360))
        asked = cap.capture("active_window")
    finally:
        cap.close_thread_capturer()
    assert region.box == (410, 260, 100, 80) and region.image.size == (100, 80)
    # The region's lower part is inside the red half of the picture.
    assert region.image.getpixel((50, 70)) == (255, 0, 0)
    assert rect_given.source == "active_window" and rect_given.image.size == (640, 360)
    assert rect_given.image.getpixel((10, 10)) == (255, 0, 0)
    assert rect_given.image.getpixel((630, 10)) == (0, 0, 255)
    # Without a window manager, the X input focus names the picture window (Qt focuses it when shown).
    assert window.window_id
    assert (asked.source, asked.box, asked.note) == ("active_window", (300, 200, 640, 360), None)


@pytest.mark.xvfb
def test_black_screen_under_xvfb_is_flagged_near_black(xvfb):
    # Nothing is shown: the Xvfb root window is black, as a capture without permission would be.
    try:
        result = cap.capture("all_monitors")
    finally:
        cap.close_thread_capturer()
    assert result.near_black
    assert result.image.size == (xvfb.width, xvfb.height)


@pytest.mark.xvfb
def test_monitors_added_while_running_are_seen_and_the_pointer_picks_its_own(xvfb, show_picture, tmp_path):
    from tests.fixtures.xvfb import set_randr_monitor

    _known_picture(tmp_path / "known.png")
    show_picture(tmp_path / "known.png", x=640, y=0)  # red half on the left of the right-hand monitor
    try:
        first = cap.capture("monitor_under_pointer", pointer=(900, 100))
        assert first.box == (0, 0, xvfb.width, xvfb.height)
        # Split the screen into two monitors, as plugging in a second one does, with this thread's
        # mss instance still alive (the app keeps one for hours).
        set_randr_monitor(xvfb, "LEFT", 0, 0, 640, 720, primary=True)
        set_randr_monitor(xvfb, "RIGHT", 640, 0, 640, 720)
        right = cap.capture("monitor_under_pointer", pointer=(900, 100))
        left = cap.capture("monitor_under_pointer", pointer=(100, 100))
        everything = cap.capture("all_monitors")
    finally:
        cap.close_thread_capturer()
    assert right.box == (640, 0, 640, 720) and right.image.size == (640, 720)
    assert right.image.getpixel((10, 10)) == (255, 0, 0)  # the picture is on the right-hand monitor
    assert left.box == (0, 0, 640, 720)
    assert left.image.getpixel((10, 10)) == (0, 0, 0)
    assert everything.box == (0, 0, 1280, 720)


@pytest.mark.xvfb
def test_a_capture_after_the_x_server_changed_connects_again(xvfb, monkeypatch):
    """The grabber a thread keeps open belongs to one X server: after that server is gone (a new session,
    or the X server restarted), the next capture connects to the one in DISPLAY instead of failing."""
    from tests.fixtures.xvfb import start_xvfb, stop_xvfb

    first = cap.capture("all_monitors")
    assert first.image.size == (xvfb.width, xvfb.height)
    other = start_xvfb(800, 600)
    try:
        monkeypatch.setenv("DISPLAY", other.display)
        stop_xvfb(xvfb)  # the server the grabber was connected to goes away
        again = cap.capture("all_monitors")
        assert again.image.size == (800, 600)
    finally:
        stop_xvfb(other)
        cap.close_thread_capturer()


@pytest.mark.xvfb
def test_the_x_server_says_whether_one_of_our_windows_or_its_frame_has_the_keyboard_focus(xvfb):
    from Xlib import X
    from Xlib import display as xdisplay

    from describe_aloud.engine.capture_platform import x11_focus_on

    dpy = xdisplay.Display(xvfb.display)
    try:
        root = dpy.screen().root
        frame = root.create_window(10, 10, 300, 200, 0, dpy.screen().root_depth)  # a window manager's frame
        ours = frame.create_window(0, 20, 300, 180, 0, dpy.screen().root_depth)
        theirs = root.create_window(400, 10, 200, 200, 0, dpy.screen().root_depth)
        for window in (frame, ours, theirs):
            window.map()
        dpy.sync()

        def focus(window) -> None:
            dpy.set_input_focus(window, X.RevertToParent, X.CurrentTime)
            dpy.sync()

        focus(ours)
        assert x11_focus_on([ours.id]) is True
        focus(frame)
        assert x11_focus_on([ours.id]) is True  # the frame around our window
        focus(theirs)
        assert x11_focus_on([ours.id]) is False  # the user is in another application
        focus(X.PointerRoot)
        assert x11_focus_on([ours.id]) is None  # keys follow the pointer: no clear answer
        theirs.destroy()
        dpy.sync()
        assert x11_focus_on([ours.id]) is None
        assert x11_focus_on([]) is None
        # A window gone by the time it is asked about: an X error, which must not end this process.
        gone = root.create_window(0, 0, 10, 10, 0, dpy.screen().root_depth)
        gone_id = gone.id
        gone.destroy()
        focus(ours)
        assert x11_focus_on([gone_id]) is False
        assert x11_focus_on([gone_id, ours.id]) is True
    finally:
        dpy.close()
