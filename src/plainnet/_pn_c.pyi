# Stub of the cffi-generated C core (built from csrc/build_ffi.py).
# ``lib`` exposes the pn_* functions and PN_* constants of csrc/plainnet.h.
from typing import Any

ffi: Any
lib: Any
