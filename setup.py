"""Only the optional C part of the build; everything else is declared in pyproject.toml.

``protocol._cbor`` is the strict deterministic-CBOR decoder in C.  It is ``optional``: where it
cannot be compiled (no C compiler or Python headers) the install still succeeds and
``protocol.cbor`` uses its pure-Python reference decoder, which accepts and refuses exactly the
same inputs (``protocol.cbor.ACCELERATED`` says which one runs).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("protocol._cbor", sources=["protocol/_cbor.c"], optional=True)])
