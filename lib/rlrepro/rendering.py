"""MuJoCo's OpenGL backend, chosen by what the machine has.

MuJoCo and dm_control read ``MUJOCO_GL`` once, when first imported, and a backend whose library
is missing breaks that import (EGL without its loader raises an AttributeError deep inside
PyOpenGL). So ``import rlrepro`` sets it before anything imports MuJoCo: the user's value when
set, else the first backend whose library loads - EGL (headless, on NVIDIA's or Mesa's driver),
OSMesa (software) or GLFW (only with a display) - else ``disable``: simulation works, and
rendering raises :func:`require` 's error naming ``MUJOCO_GL`` and what to install.
"""
import ctypes
import os

# Each backend with the shared libraries that provide it (one of them must load).
LIBRARIES = {"egl": ("libEGL.so.1", "libEGL.so"),
             "osmesa": ("libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so")}
DISABLED = "disable"
INSTALL = ("install EGL (Debian/Ubuntu: `apt install libegl1`; NVIDIA's driver ships its own) "
           "or OSMesa (`apt install libosmesa6`), or set MUJOCO_GL=glfw on a machine with a display")


def loads(library: str) -> bool:
    """Whether the dynamic linker finds and loads ``library`` (what PyOpenGL will do)."""
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def choose_backend(environ=os.environ, loads=loads) -> str:
    """The value ``MUJOCO_GL`` should take on this machine (see the module docstring)."""
    if environ.get("MUJOCO_GL"):
        return environ["MUJOCO_GL"]
    for backend, libraries in LIBRARIES.items():
        if any(loads(library) for library in libraries):
            return backend
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return "glfw"
    return DISABLED


def require():
    """Raise, before MuJoCo's own obscure failure, when rendering was disabled (no backend)."""
    if os.environ.get("MUJOCO_GL", "").lower() in ("off", DISABLED, "disabled", "false", "0"):
        raise RuntimeError(f"MUJOCO_GL={os.environ['MUJOCO_GL']}: no OpenGL backend to render "
                           f"with on this machine (tried {', '.join(LIBRARIES)} and a display); "
                           f"{INSTALL}")
