"""The ``apptainer`` backend for HPC sites where bubblewrap is not installed but Apptainer is.

The command runs in a container image that provides Python and the data-processing libraries::

    apptainer exec --containall --no-mount home,cwd,bind-paths --net --network none \
        --bind <raw>:/dojo/raw:ro --bind <workspace>:/dojo/work --pwd /dojo/work \
        --env FTDOJO_RAW_DIR=/dojo/raw ... <image> python3 -I -c <launcher> ...

``--containall`` gives a clean environment, private ``/tmp``, ``/dev``, pid and ipc namespaces and no home;
``--no-mount`` also drops the site's configured bind paths (``/scratch``, ``/home``...). ``--network none``
(a namespace with loopback only) is allowed to unprivileged users from Apptainer 1.1. The tree's memory,
processes and workspace quota are held by the harness (a per-step cgroup where usable, and the watchdog
of :mod:`ftagent.dojo.sandbox.limits`; Apptainer's ``--memory`` needs cgroup delegation); ``RLIMIT_AS``
and ``RLIMIT_FSIZE`` are set by the launcher; ``/tmp`` is Apptainer's private session folder (not
size-capped). The allowed LLM endpoint uses the same Unix-socket relay as bubblewrap.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ftagent.dojo.sandbox.base import LAUNCHER, LLM_ENV, SandboxResult, endpoint_address, finish, run_process
from ftagent.dojo.sandbox.limits import SandboxLimits
from ftagent.dojo.sandbox.relay import SOCKET_NAME, UnixRelay
from ftagent.errors import ConfigError

WORK, RAW, LLM_DIR = "/dojo/work", "/dojo/raw", "/dojo/llm"
#: Environment variable naming the default image.
IMAGE_ENV = "FTDOJO_APPTAINER_IMAGE"


class ApptainerSandbox:
    """Run agent code with ``apptainer exec --containall`` in a container image.

    Args:
        image: SIF file or sandbox directory with Python (default: ``$FTDOJO_APPTAINER_IMAGE``).
        python: Interpreter inside the image.
        apptainer: The ``apptainer`` (or ``singularity``) executable.

    Raises:
        ConfigError: the executable or the image is missing (one line).
    """

    name = "apptainer"

    def __init__(self, image: str | None = None, python: str = "python3", apptainer: str = "apptainer"):
        exe = shutil.which(apptainer)
        if exe is None:
            raise ConfigError(f"sandbox 'apptainer' unavailable: '{apptainer}' not found on PATH")
        image = image or os.environ.get(IMAGE_ENV)
        if not image or not Path(image).exists():
            raise ConfigError(f"sandbox 'apptainer' needs a container image with Python: set sandbox option "
                              f"'image' or ${IMAGE_ENV} (got {image!r})")
        self.apptainer, self.image, self.python = exe, str(image), python

    def command(self, argv: list[str], workspace: Path, raw_dir: Path, *, memory_mb: int,
                extra_env: dict[str, str] | None = None, relay_dir: Path | None = None,
                llm_endpoint: str | None = None, limits: SandboxLimits | None = None,
                readonly_files: dict[str, Path] | None = None) -> list[str]:
        """The full ``apptainer exec`` command line for one run (``readonly_files``: as for bubblewrap)."""
        limits = limits or SandboxLimits()
        env = {"FTDOJO_RAW_DIR": RAW, "PYTHONUNBUFFERED": "1", "HOME": "/tmp", "LANG": "C.UTF-8"}
        a = [self.apptainer, "exec", "--containall", "--no-mount", "home,cwd,bind-paths",
             "--net", "--network", "none",
             "--bind", f"{Path(raw_dir).resolve()}:{RAW}:ro", "--bind", f"{Path(workspace).resolve()}:{WORK}",
             "--pwd", WORK]
        for name, host in (readonly_files or {}).items():
            norm = os.path.normpath(name)
            if os.path.isabs(norm) or norm.split(os.sep)[0] == "..":
                raise ConfigError(f"sandbox 'apptainer': read-only file '{name}' is not inside the workspace")
            a += ["--bind", f"{Path(host).resolve()}:{WORK}/{norm}:ro"]
        port, sock = 0, "-"
        if llm_endpoint and relay_dir is not None:
            _, port, path = endpoint_address(llm_endpoint)
            sock = f"{LLM_DIR}/{SOCKET_NAME}"
            a += ["--bind", f"{relay_dir}:{LLM_DIR}:ro"]
            env[LLM_ENV] = f"http://127.0.0.1:{port}{path}"
        env.update(extra_env or {})
        for k, v in env.items():
            a += ["--env", f"{k}={v}"]
        inner = [self.python if argv[0] == "python" else argv[0], *argv[1:]]
        launch = [self.python, "-I", "-c", LAUNCHER, str(memory_mb * 2**20), str(port), sock,
                  str(limits.file_size_mb * 2**20)]
        return a + [self.image, *launch, *inner]

    def run(self, argv: list[str], workspace: Path, raw_dir: Path, *, timeout_s: float, memory_mb: int,
            extra_env: dict[str, str] | None = None, llm_endpoint: str | None = None,
            limits: SandboxLimits | None = None, log_dir: Path | None = None,
            readonly_files: dict[str, Path] | None = None) -> SandboxResult:
        """Run ``argv`` in ``workspace`` (see :class:`~ftagent.dojo.sandbox.base.Sandbox`)."""
        limits = limits or SandboxLimits()
        with contextlib.ExitStack() as stack:
            relay_dir = None
            if llm_endpoint:
                host, port, _ = endpoint_address(llm_endpoint)
                relay_dir = stack.enter_context(UnixRelay(host, port)).folder
            cmd = self.command(argv, workspace, raw_dir, memory_mb=memory_mb, extra_env=extra_env,
                               relay_dir=relay_dir, llm_endpoint=llm_endpoint, limits=limits,
                               readonly_files=readonly_files)
            # --containall (--cleanenv) keeps this environment out of the container; keys are dropped anyway
            host_env = {k: os.environ[k] for k in ("PATH", "HOME", "USER", "LANG") if k in os.environ}
            res = run_process(cmd, cwd=Path(workspace), env=host_env, timeout_s=timeout_s, backend=self.name,
                              memory_mb=memory_mb, limits=limits, workspace=Path(workspace), log_dir=log_dir)
        return finish(res, Path(workspace))
