"""Builds the optional C++ extension in csrc/ (everything else is in pyproject.toml).

Install torch first, then `pip install --no-build-isolation -e .` so the extension is
compiled against the torch you have. If no C++ sources or no compiler are available the
package still installs and runs on the pure PyTorch path (`a2i env` tells which).

Flags: a conservative x86-64 baseline by default so the .so runs on every machine of a
Ray cluster; set A2I_NATIVE=1 to build with -march=native for this machine only.
"""
import glob
import os

from setuptools import setup

ext_modules = []
cmdclass = {}
sources = sorted(glob.glob(os.path.join("csrc", "*.cpp")))
if sources and os.environ.get("A2I_NO_EXT") != "1":
    from torch.utils.cpp_extension import BuildExtension, CppExtension

    cxx = ["-O3", "-g0", "-std=c++17", "-fopenmp", "-ffp-contract=fast", "-Wno-psabi"]
    if os.environ.get("A2I_NATIVE") == "1":
        cxx.append("-march=native")
    ext_modules.append(
        CppExtension(
            name="a2i_cli._C",
            sources=sources,
            extra_compile_args={"cxx": cxx},
            extra_link_args=["-fopenmp", "-g0", "-s"],
        )
    )
    cmdclass["build_ext"] = BuildExtension.with_options(use_ninja=True)

setup(ext_modules=ext_modules, cmdclass=cmdclass)
