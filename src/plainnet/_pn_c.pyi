# Stub of the cffi-generated C core (built from csrc/build_ffi.py).
# ``lib`` exposes the pn_* functions and PN_* constants of csrc/plainnet.h, and
# pn_build_info() (how the core was compiled; see plainnet._backends.c_build_info).
from typing import Any

ffi: Any
lib: Any
