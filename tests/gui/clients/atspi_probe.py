"""Run with the SYSTEM Python (Debian's python3-pyatspi), as a screen reader sees the app: prints one JSON
object about the application whose name contains argv[1]:
  {"found": bool, "focused": [role, name] of the focused object or null, "active_window": name or null,
   "unnamed": [[role, path]...] focusable controls without a name}
With argv[2] = "listen:<seconds>" it instead listens that long and prints the showing notifications'
texts and the announcements it received: {"notifications": [...], "announcements": [...]}.
"""
import json
import sys

import pyatspi

FOCUSABLE_ROLES = {
    pyatspi.ROLE_PUSH_BUTTON, pyatspi.ROLE_CHECK_BOX, pyatspi.ROLE_COMBO_BOX, pyatspi.ROLE_TEXT,
    pyatspi.ROLE_SPIN_BUTTON, pyatspi.ROLE_SLIDER, pyatspi.ROLE_LIST, pyatspi.ROLE_TABLE, pyatspi.ROLE_TREE,
    pyatspi.ROLE_RADIO_BUTTON, pyatspi.ROLE_ENTRY, pyatspi.ROLE_PAGE_TAB, pyatspi.ROLE_TOGGLE_BUTTON,
}


def find_app(name):
    desktop = pyatspi.Registry.getDesktop(0)
    for app in desktop:
        if app is not None and name.lower() in (app.name or "").lower():
            return app
    return None


def walk(obj, path, out):
    try:
        states = obj.getState()
        role = obj.getRole()
    except Exception:
        return
    if states.contains(pyatspi.STATE_FOCUSED):
        out["focused"] = [obj.getRoleName(), obj.name]
    if role == pyatspi.ROLE_FRAME and states.contains(pyatspi.STATE_ACTIVE):
        out["active_window"] = obj.name
    if (states.contains(pyatspi.STATE_FOCUSABLE) and states.contains(pyatspi.STATE_SHOWING)
            and role in FOCUSABLE_ROLES and not (obj.name or "").strip()):
        out["unnamed"].append([obj.getRoleName(), path])
    for index in range(obj.childCount):
        child = obj.getChildAtIndex(index)
        if child is not None:
            walk(child, f"{path}/{index}", out)


def inspect(name):
    out = {"found": False, "focused": None, "active_window": None, "unnamed": []}
    app = find_app(name)
    if app is not None:
        out["found"] = True
        walk(app, "", out)
    return out


def listen(seconds):
    got = {"notifications": [], "announcements": []}

    def on_event(event):
        try:
            if event.type.startswith("object:state-changed:showing") and event.detail1 \
                    and event.source.getRole() == pyatspi.ROLE_NOTIFICATION:
                texts = [event.source.getChildAtIndex(i).name for i in range(event.source.childCount)]
                got["notifications"].append(" ".join(t for t in texts if t))
            elif event.type.startswith("object:announcement"):
                got["announcements"].append(str(event.any_data))
        except Exception as exc:  # an object gone meanwhile
            got.setdefault("errors", []).append(repr(exc))

    pyatspi.Registry.registerEventListener(on_event, "object:state-changed:showing", "object:announcement")
    from gi.repository import GLib

    GLib.timeout_add(int(seconds * 1000), pyatspi.Registry.stop)
    print("listening", flush=True)
    pyatspi.Registry.start()
    return got


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2].startswith("listen:"):
        result = listen(float(sys.argv[2].split(":", 1)[1]))
    else:
        result = inspect(sys.argv[1])
    print(json.dumps(result), flush=True)
