"""The ``bubblewrap`` backend: agent code in fresh Linux namespaces with an allow-listed filesystem.

Layout inside the sandbox (everything else of the host is absent, not merely unreadable):

* ``/dojo/work`` — the experiment workspace, the only writable host folder (also the working directory);
* ``/dojo/raw`` — the raw-data repository, read-only (``$FTDOJO_RAW_DIR``);
* ``/usr``, ``/bin``, ``/lib*`` and a few ``/etc`` files (dynamic linker cache, time zone, hosts), read-only;
* the interpreter's ``sys.prefix`` and ``sys.base_prefix`` (the venv and the Python it was made from) at
  their host paths, read-only, with any installed copy of the ``ftagent`` package masked by an empty tmpfs;
* ``/tmp`` and ``/dev/shm`` private tmpfs of a bounded size, ``/proc`` of the sandbox's own pid
  namespace, a minimal ``/dev``; the root, ``/dev`` and the masks are read-only (unsized tmpfs);
* ``/dojo/llm`` — only when an LLM endpoint is allowed: the relay socket
  (:mod:`~ftagent.dojo.sandbox.relay`).

Namespaces: user (uid 1000, all capabilities dropped, nested user namespaces disabled where bwrap >= 0.8
supports it), pid, net (no network: only the sandbox's own loopback), ipc, uts, cgroup. The explicit
``--unshare-user --uid 1000 --cap-drop ALL`` matters when the harness runs as root (containers, CI):
``bwrap --unshare-all`` alone then runs the code as uid 0 with every capability.

The environment is cleared and rebuilt (no API keys), and ``bwrap`` itself is started with an empty
environment because the sandbox can read ``/proc/1/environ`` of its init. ``--die-with-parent`` plus
the pid namespace make the wall-clock kill take the whole process tree. Limits
(:mod:`ftagent.dojo.sandbox.limits`): the whole tree's memory is capped by a per-step cgroup where the
harness may create one and always by the harness's watchdog (RSS of every process plus the ``/tmp``
tmpfs, whose size is ``bwrap --size``, at most the memory cap); ``RLIMIT_AS`` and ``RLIMIT_FSIZE`` are
set on every process by the launcher inside. ``RLIMIT_AS`` counts virtual memory, so leave room for the
interpreter's mappings: about 15 MiB for plain Python, about 0.4 GiB once pandas is imported (measured).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ftagent.dojo.sandbox.base import LAUNCHER, LLM_ENV, SandboxResult, endpoint_address, finish, run_process
from ftagent.dojo.sandbox.limits import SandboxLimits
from ftagent.dojo.sandbox.relay import SOCKET_NAME, UnixRelay
from ftagent.errors import ConfigError

WORK = "/dojo/work"
RAW = "/dojo/raw"
LLM_DIR = "/dojo/llm"
#: Top-level system folders mounted read-only (or recreated as the same symlinks).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: ``/etc`` entries mounted read-only when present (no passwd/shadow, no ssl keys, no resolv.conf).
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "hosts",
             "nsswitch.conf")
#: Package names never visible inside a sandbox (the grader and the harness).
MASKED_PACKAGES = ("ftagent",)


def python_roots(python: str) -> list[Path]:
    """``sys.prefix`` and ``sys.base_prefix`` of the interpreter ``python`` (asked, not guessed).

    Raises:
        ConfigError: the interpreter cannot be run.
    """
    try:
        code = "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix]))"
        out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=60,
                             env={"PATH": "/usr/bin:/bin"}, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        raise ConfigError(f"sandbox python '{python}' cannot be run: {type(e).__name__}") from None
    roots = []
    for p in json.loads(out.stdout):
        rp = Path(p).resolve()
        if rp not in roots:
            roots.append(rp)
    return roots


def _covered(path: Path, by: list[Path]) -> bool:
    return any(path == b or path.is_relative_to(b) for b in by)


def _masks(roots: list[Path]) -> list[str]:
    """Installed copies of :data:`MASKED_PACKAGES` inside the mounted roots."""
    found = []
    for root in roots:
        for pkg in MASKED_PACKAGES:
            for site in ("lib/python3*/site-packages", "site-packages"):
                for pattern in (f"{site}/{pkg}", f"{site}/{pkg}-*.dist-info"):
                    found += [p for p in glob.glob(str(root / pattern)) if os.path.isdir(p)]
    return sorted(set(found))


class BubblewrapSandbox:
    """Run agent code under ``bwrap`` (see the module docstring for what is visible).

    Args:
        python: Interpreter that ``python`` in an argv means (default: this process's ``sys.executable``).
        ro_paths: Extra host folders mounted read-only at the same path (e.g. a tokenizer for length
            statistics). They must not contain evaluation data.
        bwrap: The ``bwrap`` executable.
        uid: The uid (and gid) the code runs as inside the user namespace.

    Raises:
        ConfigError: ``bwrap`` is missing or cannot create its namespaces on this machine (one line, with
            bwrap's own reason); there is no silent fallback to an unisolated run.
    """

    name = "bubblewrap"

    def __init__(self, python: str | None = None, ro_paths: list[str] | tuple[str, ...] = (),
                 bwrap: str = "bwrap", uid: int = 1000):
        exe = shutil.which(bwrap)
        if exe is None:
            raise ConfigError(f"sandbox 'bubblewrap' unavailable: '{bwrap}' not found on PATH "
                              "(install the Debian/Ubuntu package 'bubblewrap')")
        self.bwrap = exe
        self.python = python or sys.executable
        self.uid = uid
        system = [Path(d) for d in SYSTEM_DIRS]
        self.roots = [r for r in python_roots(self.python) if not _covered(r, system)]
        self.roots += [Path(p).resolve() for p in ro_paths]
        if any(r == Path("/") for r in self.roots):
            raise ConfigError("sandbox 'bubblewrap': refusing to mount '/' as a Python or extra root")
        self.masks = _masks(self.roots)
        help_text = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
        self.disable_userns = "--disable-userns" in help_text  # bwrap >= 0.8
        self._probe()

    def _probe(self) -> None:
        with contextlib.suppress(OSError):
            p = subprocess.run(self._base_args() + ["--", self.python, "-I", "-c", "pass"],
                               capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
            if p.returncode == 0:
                return
            why = (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
            raise ConfigError(f"sandbox 'bubblewrap' unavailable: bwrap cannot start a sandbox here "
                              f"({why}); unprivileged user namespaces may be disabled (sysctl "
                              "kernel.unprivileged_userns_clone, AppArmor) — use 'apptainer', or "
                              "'subprocess' knowing it is unsafe")
        raise ConfigError(f"sandbox 'bubblewrap' unavailable: cannot execute {self.bwrap}")

    def _base_args(self, tmp_size: int = 0) -> list[str]:
        a = [self.bwrap, "--unshare-all", "--unshare-user", "--uid", str(self.uid), "--gid", str(self.uid),
             "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--hostname", "ftdojo"]
        if self.disable_userns:  # no nested user namespace (and so no capabilities) for the code
            a.append("--disable-userns")
        for d in SYSTEM_DIRS:
            if os.path.islink(d):
                a += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                a += ["--ro-bind", d, d]
        for f in ETC_FILES:
            a += ["--ro-bind-try", f"/etc/{f}", f"/etc/{f}"]
        # /tmp before the roots: a venv may live under /tmp
        a += ["--proc", "/proc", "--dev", "/dev"]
        size = ["--size", str(tmp_size)] if tmp_size else []
        a += [*size, "--tmpfs", "/tmp", *size, "--tmpfs", "/dev/shm"]
        for r in self.roots:
            a += ["--ro-bind", str(r), str(r)]
        for m in self.masks:
            a += ["--tmpfs", m]
        return a

    def command(self, argv: list[str], workspace: Path, raw_dir: Path, *, memory_mb: int,
                extra_env: dict[str, str] | None = None, relay_dir: Path | None = None,
                llm_endpoint: str | None = None, limits: SandboxLimits | None = None,
                readonly_files: dict[str, Path] | None = None) -> list[str]:
        """The full ``bwrap`` command line for one run.

        ``readonly_files`` (workspace-relative name -> host file) are bound read-only over the
        workspace at those names (the name must exist in the workspace).

        Raises:
            ConfigError: a mounted root would expose the workspace or the raw-data folder's parents.
        """
        workspace, raw_dir = Path(workspace).resolve(), Path(raw_dir).resolve()
        for r in self.roots:
            if workspace.is_relative_to(r) or raw_dir.is_relative_to(r):
                raise ConfigError(f"sandbox 'bubblewrap': mounted root {r} contains the workspace or raw "
                                  "data; use a Python environment outside the run and data folders")
        # no /etc/passwd inside: USER and LOGNAME let getpass.getuser() work
        env = {"PATH": f"{Path(self.python).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp",
               "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", "FTDOJO_RAW_DIR": RAW,
               "USER": "dojo", "LOGNAME": "dojo"}
        if "PYTHONHASHSEED" in os.environ:
            env["PYTHONHASHSEED"] = os.environ["PYTHONHASHSEED"]
        limits = limits or SandboxLimits()
        port, sock = 0, ""
        a = self._base_args(limits.tmp_bytes(memory_mb)) + ["--ro-bind", str(raw_dir), RAW,
                                                             "--bind", str(workspace), WORK]
        for name, host in (readonly_files or {}).items():
            norm = os.path.normpath(name)
            dest = Path(WORK) / norm
            if os.path.isabs(norm) or norm.split(os.sep)[0] == "..":
                raise ConfigError(f"sandbox 'bubblewrap': read-only file '{name}' is not inside the workspace")
            a += ["--ro-bind", str(Path(host).resolve()), str(dest)]
        if llm_endpoint and relay_dir is not None:
            _, port, path = endpoint_address(llm_endpoint)
            sock = f"{LLM_DIR}/{SOCKET_NAME}"
            a += ["--ro-bind", str(relay_dir), LLM_DIR]
            env[LLM_ENV] = f"http://127.0.0.1:{port}{path}"
        env.update(extra_env or {})
        # the sandbox's root and /dev are unsized tmpfs: read-only, so only the sized /tmp, /dev/shm and the
        # workspace (quota) take writes
        a += ["--remount-ro", "/dev", "--remount-ro", "/"]
        for m in self.masks:  # the empty tmpfs over a masked package
            a += ["--remount-ro", m]
        a += ["--chdir", WORK, "--clearenv"]
        for k, v in env.items():
            a += ["--setenv", k, v]
        inner = [self.python if argv[0] == "python" else argv[0], *argv[1:]]
        launch = [self.python, "-I", "-c", LAUNCHER, str(memory_mb * 2**20), str(port), sock or "-",
                  str(limits.file_size_mb * 2**20)]
        return a + ["--", *launch, *inner]

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
            # bwrap gets an empty environment: the sandbox can read /proc/1/environ of its init process
            res = run_process(cmd, cwd=Path(workspace), env={}, timeout_s=timeout_s, backend=self.name,
                              memory_mb=memory_mb, limits=limits, workspace=Path(workspace), log_dir=log_dir,
                              tmp_size=limits.tmp_bytes(memory_mb))
        return finish(res, Path(workspace))
