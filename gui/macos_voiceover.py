"""Is VoiceOver on? (macOS only; False elsewhere.)

VoiceOver's switch is the preference "voiceOverOnOffKey" of com.apple.universalaccess; it is read through
CoreFoundation with ctypes (no PyObjC, no process started), after synchronising the preferences so a change
made while the app runs is seen.

Threading contract: any thread.
"""
from __future__ import annotations

import ctypes
import sys

_CF_PATH = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
_UTF8 = 0x08000100  # kCFStringEncodingUTF8


def voiceover_running() -> bool:
    if sys.platform != "darwin":
        return False
    try:
        cf = ctypes.cdll.LoadLibrary(_CF_PATH)
    except OSError:
        return False
    cf.CFStringCreateWithCString.restype = ctypes.c_void_p
    cf.CFStringCreateWithCString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32]
    cf.CFPreferencesCopyAppValue.restype = ctypes.c_void_p
    cf.CFPreferencesCopyAppValue.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    cf.CFPreferencesAppSynchronize.argtypes = [ctypes.c_void_p]
    cf.CFBooleanGetValue.argtypes = [ctypes.c_void_p]
    cf.CFBooleanGetValue.restype = ctypes.c_bool
    cf.CFGetTypeID.argtypes = [ctypes.c_void_p]
    cf.CFGetTypeID.restype = ctypes.c_ulong
    cf.CFBooleanGetTypeID.restype = ctypes.c_ulong
    cf.CFRelease.argtypes = [ctypes.c_void_p]
    app = cf.CFStringCreateWithCString(None, b"com.apple.universalaccess", _UTF8)
    key = cf.CFStringCreateWithCString(None, b"voiceOverOnOffKey", _UTF8)
    try:
        cf.CFPreferencesAppSynchronize(app)
        value = cf.CFPreferencesCopyAppValue(key, app)
        if not value:
            return False
        try:
            return cf.CFGetTypeID(value) == cf.CFBooleanGetTypeID() and bool(cf.CFBooleanGetValue(value))
        finally:
            cf.CFRelease(value)
    finally:
        cf.CFRelease(key)
        cf.CFRelease(app)
