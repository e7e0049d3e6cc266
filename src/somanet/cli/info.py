"""``somanet info``: what somanet runs on (versions, devices, BLAS, CPUs, extras)."""
import importlib.metadata
import importlib.util
import os
import platform
import sys

import numpy

from .. import __version__
from ..backend import gpu, gpu_count
from .help import DefaultsOnceFormatter

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # somanet/, above cli/


def add_parser(commands):
    """Add ``info`` to the ``commands`` subparsers."""
    info = commands.add_parser(
        "info", help="versions, devices, BLAS, CPUs and optional extras",
        description="Print somanet's and NumPy's versions, the devices found, the BLAS "
                    "NumPy uses, the CPU count and which optional extras are installed.",
        formatter_class=DefaultsOnceFormatter)
    info.set_defaults(handler=cmd_info)
    return info


def _describe_gpu(index):
    """``gpu:0 (NVIDIA H200, 139.8 GiB, 1.2 GiB held by CuPy)``, or the bare name when
    CUDA will not say more."""
    try:
        found = gpu(index)
        memory = found.memory()
        return (f"gpu:{index} ({found.name()}, {memory['total'] / 2 ** 30:.1f} GiB, "
                f"{memory['held'] / 2 ** 30:.1f} GiB held by CuPy)")
    except Exception:  # a driver that lists a GPU it cannot open: still list it
        return f"gpu:{index}"


def cmd_info(args):
    """``somanet info``: what somanet runs on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    gpus = gpu_count()
    devices = ["cpu"] + [_describe_gpu(i) for i in range(gpus)]
    lines = [
        ("somanet", f"{__version__} ({PACKAGE_DIR})"),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("numpy", numpy.__version__),
        ("platform", platform.platform()),
        ("CPUs", f"{usable} usable of {os.cpu_count()}"),
        ("BLAS", _blas()),
        ("devices", ", ".join(devices) + ("" if gpus else
                                          " (no GPU: needs CuPy and a CUDA GPU)")),
    ]
    extras = []
    for module, package in (("cupy", None), ("mpi4py", "mpi4py"),
                            ("matplotlib", "matplotlib"), ("numba", "numba"),
                            ("threadpoolctl", "threadpoolctl")):
        if importlib.util.find_spec(module) is None:
            extras.append(f"{module} -")
            continue
        version = _version(package) if package else None
        if version is None:  # cupy's distribution is cupy-cuda12x, cupy-cuda11x...
            version = next((_version(name) for name in ("cupy", "cupy-cuda12x",
                                                        "cupy-cuda11x") if _version(name)), "")
        extras.append(f"{module} {version}".strip())
    lines.append(("extras", ", ".join(extras)))
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _blas():
    """A line naming the BLAS NumPy uses: threadpoolctl's view when it is installed (the
    library actually loaded, and its threads), else NumPy's build configuration."""
    if importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_info
        found = [f"{lib.get('internal_api')} {lib.get('version') or ''} "
                 f"({lib.get('num_threads')} threads, {os.path.basename(lib.get('filepath', ''))})"
                 for lib in threadpool_info() if lib.get("user_api") == "blas"]
        if found:
            return "; ".join(" ".join(item.split()) for item in found)
    try:
        config = numpy.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')} (NumPy's build configuration)"
    except Exception:  # older NumPy without mode="dicts", or an unusual build
        return "unknown (NumPy does not report it)"
