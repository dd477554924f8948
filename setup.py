"""Build script: everything is in pyproject.toml except the C extension `xcs._hook`.

The extension needs CPython's internal headers (`_PyInterpreterFrame`), so it is
compiled with `Py_BUILD_CORE` against the running interpreter's `internal/` include
directory. It is optional at run time: `@xcs.jit` works without it.
"""
import os
import sysconfig

from setuptools import Extension, setup

include_dir = sysconfig.get_paths()["include"]

hook = Extension(
    "xcs._hook",
    sources=["csrc/hook.c"],
    include_dirs=[include_dir, os.path.join(include_dir, "internal")],
    define_macros=[("Py_BUILD_CORE", "1")],
    extra_compile_args=["-O2", "-Wall", "-Wno-unused-function"],
)

setup(ext_modules=[hook])
