"""Running model-written programs (HumanEval completions) in a contained child process.

A completion is untrusted code: it may loop forever, fork-bomb, allocate 10 GB, write
anywhere, open sockets or signal its parent. Each program therefore runs in a fresh work
directory in its own process tree with CPU, wall, memory and process-count limits, and
where the machine allows, in new network/mount/PID namespaces as an unprivileged uid that
sees only a read-only view of the system and Python directories. docs/sandbox.md explains
the mechanisms, the fallbacks and what this does not protect against.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import inspect
import json
import math
import os
import pwd
import resource
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from onpar.bench.tasks import CodeItem
from onpar.records import Record

Mode = Literal["namespaces", "user-namespace", "unprivileged-uid", "rlimits-only"]
Status = Literal["passed", "failed", "timeout", "error"]

SANDBOX_UID_BASE = 61000
"""First uid of the per-slot range (61000–61127, below systemd's dynamic range 61184+)."""
SANDBOX_UID_SLOTS = 128
WORKDIR_MB = 64
"""Size of the private tmpfs work directory (namespace modes); also the per-file size limit."""
MAX_OPEN_FILES = 256
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
"""Host paths the program may read (read-only) besides the Python installation."""
SLOT_WAIT_S = 60.0


class SandboxLimits(Record):
    """Resource limits for one sandboxed program; the defaults suit HumanEval problems."""

    wall_s: float = Field(default=10.0, gt=0, description="Wall-clock limit; then killed.")
    cpu_s: float = Field(default=10.0, gt=0, description="CPU seconds per process (RLIMIT_CPU).")
    memory_mb: int = Field(
        default=2048, ge=64, description="Address space per process (RLIMIT_AS), in MiB."
    )
    max_processes: int = Field(
        default=32, ge=1, description="Processes and threads of the sandbox uid (RLIMIT_NPROC)."
    )
    max_output_bytes: int = Field(
        default=65536, ge=0, description="Tail of stdout and of stderr kept, each."
    )


class ExecutionResult(Record):
    """Outcome of one sandboxed program: passed iff it exited 0 within the limits."""

    status: Status = Field(description="'error' means the sandbox could not run the program.")
    detail: str = Field(description="Short reason, e.g. 'AssertionError' or 'killed by signal 9'.")
    wall_s: float = Field(description="Seconds from launch to the end of the process tree.")
    stdout: str = Field(default="", description="Tail of stdout, at most max_output_bytes.")
    stderr: str = Field(default="", description="Tail of stderr, at most max_output_bytes.")

    @property
    def passed(self) -> bool:
        return self.status == "passed"


DEFAULT_LIMITS = SandboxLimits()


class _Launcher:
    """The child side: builds the sandbox around the program, then execs the interpreter.

    Its source text is what the child interpreter runs (``python -I -S -c``), so it uses
    only the standard library and names the prologue imports. It reports to the parent by
    lines on a status pipe: ``error …`` (could not start) or ``exit N cpu S`` /
    ``signal N cpu S`` (how the program ended).
    """

    CLONE_NEWNS = 0x00020000
    CLONE_NEWUTS = 0x04000000
    CLONE_NEWIPC = 0x08000000
    CLONE_NEWUSER = 0x10000000
    CLONE_NEWPID = 0x20000000
    CLONE_NEWNET = 0x40000000
    MS_RDONLY = 1
    MS_NOSUID = 2
    MS_NODEV = 4
    MS_NOEXEC = 8
    MS_REMOUNT = 32
    MS_NOATIME = 1024
    MS_NODIRATIME = 2048
    MS_BIND = 4096
    MS_REC = 16384
    MS_PRIVATE = 1 << 18
    MS_RELATIME = 1 << 21
    PR_SET_PDEATHSIG = 1
    PR_SET_NO_NEW_PRIVS = 38
    WORKDIR = "/sandbox"
    DEVICES = ("null", "zero", "full", "random", "urandom")

    @staticmethod
    def main() -> None:
        config = json.loads(sys.argv[1])
        try:
            _Launcher.libc().prctl(_Launcher.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != config["parent_pid"]:
                os._exit(125)  # onpar died before we could tie our life to it
            if config["mode"] in ("namespaces", "user-namespace"):
                _Launcher.enter_namespaces(config)
                root = _Launcher.build_view(config)
                init = os.fork()
                if init == 0:
                    _Launcher.namespace_init(config, root)
                os.waitpid(init, 0)
                os._exit(0)
            _Launcher.prepare_host_workdir(config)
            _Launcher.supervise(config, in_namespace=False)
        except BaseException as exc:
            _Launcher.report(config["status_fd"], f"error {type(exc).__name__}: {exc}")
            os._exit(125)

    @staticmethod
    def libc() -> ctypes.CDLL:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
        libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
        libc.unshare.argtypes = [ctypes.c_int]
        return libc

    @staticmethod
    def check(result: int, what: str) -> None:
        if result != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"{what}: {os.strerror(number)}")

    @staticmethod
    def mount(
        source: str | None, target: str, fstype: str | None, flags: int, data: str | None
    ) -> None:
        def encode(text: str | None) -> bytes | None:
            return None if text is None else text.encode()

        result = _Launcher.libc().mount(
            encode(source), encode(target), encode(fstype), flags, encode(data)
        )
        _Launcher.check(result, f"mount {source or ''} on {target}")

    @staticmethod
    def report(status_fd: int, line: str) -> None:
        with contextlib.suppress(OSError):
            os.write(status_fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))

    @staticmethod
    def enter_namespaces(config: dict[str, Any]) -> None:
        uid, gid = os.getuid(), os.getgid()
        flags = (
            _Launcher.CLONE_NEWNS
            | _Launcher.CLONE_NEWNET
            | _Launcher.CLONE_NEWPID
            | _Launcher.CLONE_NEWIPC
            | _Launcher.CLONE_NEWUTS
        )
        if config["mode"] == "user-namespace":
            flags |= _Launcher.CLONE_NEWUSER
        _Launcher.check(_Launcher.libc().unshare(flags), "unshare")
        if config["mode"] == "user-namespace":
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"{uid} {uid} 1"),
                ("gid_map", f"{gid} {gid} 1"),
            ):
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
        _Launcher.mount(None, "/", None, _Launcher.MS_REC | _Launcher.MS_PRIVATE, None)

    @staticmethod
    def build_view(config: dict[str, Any]) -> str:
        root = f"{config['staging']}/view"
        os.mkdir(root, 0o755)
        quiet = _Launcher.MS_NOSUID | _Launcher.MS_NODEV
        _Launcher.mount("tmpfs", root, "tmpfs", quiet, "size=1m,mode=0755")
        for path in config["exposed_paths"]:
            _Launcher.expose(root, path)
        os.makedirs(f"{root}/dev", 0o755, exist_ok=True)
        for name in _Launcher.DEVICES:
            open(f"{root}/dev/{name}", "w").close()
            _Launcher.mount(f"/dev/{name}", f"{root}/dev/{name}", None, _Launcher.MS_BIND, None)
        os.mkdir(f"{root}/proc", 0o555)
        work = root + _Launcher.WORKDIR
        os.mkdir(work, 0o700)
        uid, gid = config["uid"], config["gid"]
        size = f"size={config['workdir_mb']}m,nr_inodes=4096,mode=0700,uid={uid},gid={gid}"
        _Launcher.mount("tmpfs", work, "tmpfs", quiet, size)
        _Launcher.copy_program(config, work)
        _Launcher.mount(None, root, None, _Launcher.MS_REMOUNT | _Launcher.MS_RDONLY | quiet, None)
        return root

    @staticmethod
    def expose(root: str, path: str) -> None:
        if not os.path.lexists(path):
            return
        target = root + path
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        if os.path.islink(path) and os.path.dirname(path) == "/":
            os.symlink(os.readlink(path), target)  # e.g. /lib -> usr/lib on merged-/usr systems
            return
        if os.path.isdir(path):
            os.mkdir(target, 0o755)
        else:
            open(target, "w").close()
        _Launcher.mount(path, target, None, _Launcher.MS_BIND | _Launcher.MS_REC, None)
        kept = 0  # flags a user namespace may not clear when remounting
        host = os.statvfs(path).f_flag
        for st_flag, ms_flag in (
            (os.ST_NOEXEC, _Launcher.MS_NOEXEC),
            (os.ST_NOATIME, _Launcher.MS_NOATIME),
            (os.ST_NODIRATIME, _Launcher.MS_NODIRATIME),
            (os.ST_RELATIME, _Launcher.MS_RELATIME),
        ):
            kept |= ms_flag if host & st_flag else 0
        flags = (
            _Launcher.MS_BIND
            | _Launcher.MS_REMOUNT
            | _Launcher.MS_RDONLY
            | _Launcher.MS_NOSUID
            | _Launcher.MS_NODEV
            | kept
        )
        _Launcher.mount(None, target, None, flags, None)

    @staticmethod
    def copy_program(config: dict[str, Any], work: str) -> None:
        with open(f"{config['staging']}/program.py", "rb") as source:
            text = source.read()
        with open(f"{work}/program.py", "wb") as target:
            target.write(text)
        os.chown(f"{work}/program.py", config["uid"], config["gid"])

    @staticmethod
    def prepare_host_workdir(config: dict[str, Any]) -> None:
        work = f"{config['staging']}/work"
        os.mkdir(work, 0o700)
        _Launcher.copy_program(config, work)
        os.chown(work, config["uid"], config["gid"])

    @staticmethod
    def namespace_init(config: dict[str, Any], root: str) -> None:
        """PID 1 of the new PID namespace: when it exits, the kernel kills every process left."""
        try:
            _Launcher.libc().prctl(_Launcher.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            with contextlib.suppress(OSError):  # /proc is a convenience, not a requirement
                flags = _Launcher.MS_NOSUID | _Launcher.MS_NODEV | _Launcher.MS_NOEXEC
                _Launcher.mount("proc", f"{root}/proc", "proc", flags, None)
            os.chroot(root)
            os.chdir("/")
            _Launcher.supervise(config, in_namespace=True)
        except BaseException as exc:
            _Launcher.report(config["status_fd"], f"error {type(exc).__name__}: {exc}")
        os._exit(125)

    @staticmethod
    def supervise(config: dict[str, Any], in_namespace: bool) -> None:
        child = os.fork()
        if child == 0:
            _Launcher.exec_program(config, in_namespace)
        _, status, usage = os.wait4(child, 0)
        cpu = usage.ru_utime + usage.ru_stime
        if os.WIFSIGNALED(status):
            _Launcher.report(config["status_fd"], f"signal {os.WTERMSIG(status)} cpu {cpu:.3f}")
        else:
            _Launcher.report(config["status_fd"], f"exit {os.WEXITSTATUS(status)} cpu {cpu:.3f}")
        os._exit(0)

    @staticmethod
    def exec_program(config: dict[str, Any], in_namespace: bool) -> None:
        try:
            if in_namespace:
                os.setsid()  # so os.killpg(0, ...) reaches only the program's own processes
            work = _Launcher.WORKDIR if in_namespace else f"{config['staging']}/work"
            os.chdir(work)
            _Launcher.set_limits(config["rlimits"])
            if config["drop_uid"]:
                os.setgroups([])
                os.setresgid(config["gid"], config["gid"], config["gid"])
                os.setresuid(config["uid"], config["uid"], config["uid"])
            _Launcher.libc().prctl(_Launcher.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            os.set_inheritable(config["status_fd"], False)
            env = {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": work,
                "TMPDIR": work,
                "LANG": "C.UTF-8",
            }
            python = config["python"]
            os.execve(python, [python, "-I", "-B", "program.py"], env)
        except BaseException as exc:
            message = f"error could not start the program: {type(exc).__name__}: {exc}"
            _Launcher.report(config["status_fd"], message)
        os._exit(127)

    @staticmethod
    def set_limits(rlimits: dict[str, list[int]]) -> None:
        for name, (soft, hard) in rlimits.items():
            kind = getattr(resource, name)
            current_hard = resource.getrlimit(kind)[1]
            if current_hard != resource.RLIM_INFINITY:
                hard = min(hard, current_hard)
            resource.setrlimit(kind, (min(soft, hard), hard))


@functools.cache
def _launcher_code() -> str:
    """The ``-c`` program of the child interpreter: the _Launcher class and a call to it."""
    prologue = "from __future__ import annotations\n"
    prologue += "import contextlib, ctypes, json, os, resource, signal, sys\n"
    return prologue + inspect.getsource(_Launcher) + "\n_Launcher.main()\n"


def _python_paths() -> list[str]:
    """Directories the interpreter needs, under their own and their resolved names."""
    names = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    names.add(os.path.dirname(os.path.realpath(sys.executable)))
    resolved = {os.path.realpath(name) for name in names}
    return sorted({os.path.abspath(name) for name in names} | resolved)


def _exposed_paths() -> list[str]:
    """System and Python paths for the read-only view, parents before (and instead of) children."""
    kept: list[str] = []
    for path in sorted(set(SYSTEM_PATHS) | set(_python_paths())):
        if path != "/" and not any(path == top or path.startswith(top + "/") for top in kept):
            kept.append(path)
    return kept


@contextlib.contextmanager
def _uid_slot(mode: Mode) -> Iterator[int]:
    """A uid no other sandbox uses right now (flock across processes and threads)."""
    if mode not in ("namespaces", "unprivileged-uid"):
        yield os.getuid()
        return
    folder = Path(tempfile.gettempdir()) / "onpar-sandbox-slots"
    folder.mkdir(mode=0o700, exist_ok=True)
    deadline = time.monotonic() + SLOT_WAIT_S
    while True:
        for uid in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UID_SLOTS):
            if _is_account(uid):
                continue
            handle = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            try:
                yield uid
            finally:
                os.close(handle)
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"all {SANDBOX_UID_SLOTS} sandbox uids stayed busy")
        time.sleep(0.05)


def _is_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _kill_all_of(uid: int) -> None:
    """SIGKILL every process of ``uid`` (escaped daemons) by kill(-1) run as that uid."""
    script = "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n"
    for _ in range(3):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [sys.executable, "-I", "-S", "-c", script],
                user=uid,
                group=uid,
                extra_groups=[],
                env={},
                timeout=10,
                check=False,
            )


def _user_process_count(uid: int) -> int:
    """Tasks (threads included) of ``uid``, which RLIMIT_NPROC counts for a non-root user."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(entry.path).st_uid == uid:
                    count += len(os.listdir(f"{entry.path}/task"))
    return count


def _rlimits(limits: SandboxLimits, mode: Mode, uid: int) -> dict[str, list[int]]:
    cpu = max(1, math.ceil(limits.cpu_s))
    processes = limits.max_processes
    if mode == "rlimits-only" and uid != 0:
        processes += _user_process_count(uid)  # the limit counts all of the user's processes
    memory = limits.memory_mb * 1024 * 1024
    file_size = WORKDIR_MB * 1024 * 1024
    return {
        "RLIMIT_AS": [memory, memory],
        "RLIMIT_CPU": [cpu, cpu + 1],
        "RLIMIT_NPROC": [processes, processes],
        "RLIMIT_FSIZE": [file_size, file_size],
        "RLIMIT_CORE": [0, 0],
        "RLIMIT_NOFILE": [MAX_OPEN_FILES, MAX_OPEN_FILES],
    }


def _launcher_config(
    mode: Mode, uid: int, staging: str, limits: SandboxLimits, status_fd: int
) -> dict[str, Any]:
    gid = uid if mode in ("namespaces", "unprivileged-uid") else os.getgid()
    return {
        "mode": mode,
        "uid": uid,
        "gid": gid,
        "drop_uid": mode in ("namespaces", "unprivileged-uid"),
        "staging": staging,
        "python": sys.executable,
        "exposed_paths": _exposed_paths(),
        "workdir_mb": WORKDIR_MB,
        "rlimits": _rlimits(limits, mode, uid),
        "status_fd": status_fd,
        "parent_pid": os.getpid(),
    }


@dataclass
class _Outcome:
    """What the parent saw of one launch."""

    stdout: bytes
    stderr: bytes
    status: str
    timed_out: bool
    wall_s: float


class _Tail:
    """Keeps the last ``cap`` bytes of a stream, so a chatty program cannot exhaust memory."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.cap:
            del self.data[: len(self.data) - self.cap]


def _launch(
    config: dict[str, Any], limits: SandboxLimits, status_read: int, status_write: int
) -> _Outcome:
    """Start the launcher, collect its output until it ends or the wall limit, then reap it."""
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", "-c", _launcher_code(), json.dumps(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},  # no API keys reach the child
            start_new_session=True,
            pass_fds=(status_write,),
            cwd=str(config["staging"]),
        )
    finally:
        os.close(status_write)  # only the launcher may hold it, or EOF never comes
    assert process.stdout is not None and process.stderr is not None
    tails = {
        process.stdout.fileno(): _Tail(limits.max_output_bytes),
        process.stderr.fileno(): _Tail(limits.max_output_bytes),
        status_read: _Tail(1 << 16),
    }
    try:
        timed_out = _drain(tails, process.pid, started + limits.wall_s)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    finally:  # also on Ctrl-C: never leave a program running behind us
        if process.returncode is None:
            _kill_group(process.pid)
            process.wait()
        process.stdout.close()
        process.stderr.close()
    wall = time.monotonic() - started
    out, err, status = (bytes(tail.data) for tail in tails.values())
    return _Outcome(out, err, status.decode("utf-8", "replace"), timed_out, wall)


def _drain(tails: dict[int, _Tail], group: int, deadline: float) -> bool:
    """Read every pipe to EOF; past ``deadline`` kill the process group. True if killed."""
    timed_out = False
    with selectors.DefaultSelector() as selector:
        for fd in tails:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if timed_out:
                    break  # a process outside our reach still holds a pipe open
                _kill_group(group)
                timed_out = True
                deadline = time.monotonic() + 2.0
                continue
            for key, _ in selector.select(timeout=remaining):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    tails[key.fd].add(chunk)
                else:
                    selector.unregister(key.fd)
    return timed_out


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _judge(outcome: _Outcome, limits: SandboxLimits) -> tuple[Status, str]:
    """Status and detail from the status pipe, the wall clock and the stderr tail."""
    lines = outcome.status.splitlines()
    errors = [line[len("error ") :] for line in lines if line.startswith("error ")]
    endings = [line.split() for line in lines if line.startswith(("exit ", "signal "))]
    stderr = outcome.stderr.decode("utf-8", "replace")
    if outcome.timed_out:
        return "timeout", f"wall time {limits.wall_s:g} s exceeded"
    if errors:
        return "error", f"sandbox could not run the program: {errors[0]}"
    if not endings:
        return "failed", "sandbox supervisor was killed before the program ended"
    kind, number, cpu = endings[-1][0], int(endings[-1][1]), float(endings[-1][3])
    if kind == "exit":
        if number == 0:
            return "passed", ""
        return "failed", _last_line(stderr) or f"exit code {number}"
    cpu_exceeded = cpu >= math.ceil(limits.cpu_s) - 0.05
    if number == signal.SIGXCPU or (number == signal.SIGKILL and cpu_exceeded):
        return "timeout", f"CPU time {limits.cpu_s:g} s exceeded"
    if number == signal.SIGXFSZ:
        return "failed", f"file size limit {WORKDIR_MB} MiB exceeded"
    name = signal.Signals(number).name if number in signal.valid_signals() else "?"
    return "failed", f"killed by signal {number} ({name})"


def _run(source: str, limits: SandboxLimits, mode: Mode) -> ExecutionResult:
    """Run ``source`` once in the given isolation mode; every failure becomes a result."""
    started = time.monotonic()
    try:
        staging_dir = tempfile.TemporaryDirectory(
            prefix="onpar-sandbox-", ignore_cleanup_errors=True
        )
        with _uid_slot(mode) as uid, staging_dir as staging:
            Path(staging, "program.py").write_text(source, encoding="utf-8", errors="replace")
            if mode == "unprivileged-uid":
                os.chmod(staging, 0o711)  # the uid must reach its work dir inside
            status_read, status_write = os.pipe()
            try:
                config = _launcher_config(mode, uid, staging, limits, status_write)
                outcome = _launch(config, limits, status_read, status_write)
            finally:
                os.close(status_read)
            if mode == "unprivileged-uid":
                _kill_all_of(uid)
    except Exception as exc:
        detail = f"sandbox could not run the program: {type(exc).__name__}: {exc}"
        wall = round(time.monotonic() - started, 3)
        return ExecutionResult(status="error", detail=detail, wall_s=wall)
    status, detail = _judge(outcome, limits)
    return ExecutionResult(
        status=status,
        detail=detail,
        wall_s=round(outcome.wall_s, 3),
        stdout=outcome.stdout.decode("utf-8", "replace"),
        stderr=outcome.stderr.decode("utf-8", "replace"),
    )


_CANDIDATE_MODES: dict[bool, tuple[Mode, ...]] = {
    True: ("namespaces", "unprivileged-uid", "rlimits-only"),
    False: ("user-namespace", "rlimits-only"),
}
_mode_lock = threading.Lock()
_chosen: tuple[Mode, tuple[str, ...]] | None = None


def _selected_mode() -> tuple[Mode, tuple[str, ...]]:
    """The strongest mode that runs a trivial program here (probed once per process)."""
    global _chosen
    with _mode_lock:
        if _chosen is None:
            rejected: list[str] = []
            candidates = _CANDIDATE_MODES[os.geteuid() == 0]
            for mode in candidates:
                probe = _run("import sys\nsys.exit(0)\n", SandboxLimits(wall_s=30.0), mode)
                if probe.passed or mode == candidates[-1]:
                    _chosen = (mode, tuple(rejected))
                    break
                rejected.append(f"{mode} unavailable: {probe.detail}")
        assert _chosen is not None
        return _chosen


def run_python(source: str, limits: SandboxLimits = DEFAULT_LIMITS) -> ExecutionResult:
    """Run a Python program in the sandbox; 'passed' iff it exits 0 within ``limits``."""
    return _run(source, limits, _selected_mode()[0])


def humaneval_program(item: CodeItem, completion: str) -> str:
    """The program openai/human-eval executes: prompt, completion, tests, then the check call."""
    return item.prompt + completion + "\n" + item.test + "\n" + f"check({item.entry_point})\n"


def check_completion(
    item: CodeItem, completion: str, limits: SandboxLimits = DEFAULT_LIMITS
) -> ExecutionResult:
    """Is ``completion`` functionally correct for ``item`` (HumanEval's unit tests pass)?"""
    return run_python(humaneval_program(item, completion), limits)


def check_many(
    jobs: Sequence[tuple[CodeItem, str]],
    limits: SandboxLimits = DEFAULT_LIMITS,
    workers: int | None = None,
) -> list[ExecutionResult]:
    """check_completion for many (item, completion) pairs in parallel, results in input order.

    Threads only wait on child processes, so ``workers`` (default: CPU count) bounds how
    many programs run at once. One job's crash becomes its 'error' result, never the batch's.
    """

    def one(job: tuple[CodeItem, str]) -> ExecutionResult:
        try:
            return check_completion(job[0], job[1], limits)
        except Exception as exc:
            detail = f"sandbox could not run the program: {type(exc).__name__}: {exc}"
            return ExecutionResult(status="error", detail=detail, wall_s=0.0)

    if not jobs:
        return []
    _selected_mode()  # probe once, before the threads race for it
    count = max(1, min(len(jobs), workers or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="onpar-sandbox") as pool:
        return list(pool.map(one, jobs))


_DESCRIPTIONS: dict[Mode, dict[str, object]] = {
    "namespaces": {
        "network": "new network namespace (no interface up)",
        "filesystem": "chroot into a read-only view of system and Python dirs; tmpfs work dir",
        "pid_namespace": True,
        "unprivileged_uid": f"per-sandbox uid {SANDBOX_UID_BASE}–"
        f"{SANDBOX_UID_BASE + SANDBOX_UID_SLOTS - 1}",
        "fork_bomb_contained": True,
    },
    "user-namespace": {
        "network": "new network namespace (no interface up)",
        "filesystem": "chroot into a read-only view of system and Python dirs; tmpfs work dir",
        "pid_namespace": True,
        "unprivileged_uid": "onpar's own uid, without capabilities",
        "fork_bomb_contained": True,
    },
    "unprivileged-uid": {
        "network": "host network (NOT isolated)",
        "filesystem": "host filesystem as an unprivileged uid (world-readable files are visible)",
        "pid_namespace": False,
        "unprivileged_uid": f"per-sandbox uid {SANDBOX_UID_BASE}–"
        f"{SANDBOX_UID_BASE + SANDBOX_UID_SLOTS - 1}",
        "fork_bomb_contained": True,
    },
    "rlimits-only": {
        "network": "host network (NOT isolated)",
        "filesystem": "host filesystem with onpar's own permissions (NOT isolated)",
        "pid_namespace": False,
        "unprivileged_uid": "no: onpar's own uid",
        "fork_bomb_contained": os.geteuid() != 0,
    },
}


def isolation_report() -> dict[str, object]:
    """Which isolation is in effect here, for the run manifest (and a warning if weak)."""
    mode, rejected = _selected_mode()
    warnings = list(rejected)
    if mode in ("unprivileged-uid", "rlimits-only"):
        warnings.append(
            f"weak sandbox ({mode}): programs can use the network and read host files; "
            "run as root with CAP_SYS_ADMIN or enable unprivileged user namespaces"
        )
    if mode == "rlimits-only" and os.geteuid() == 0:
        warnings.append("running as root without namespaces: RLIMIT_NPROC is not enforced")
    return {
        "mode": mode,
        **_DESCRIPTIONS[mode],
        "rlimits": [
            "RLIMIT_AS",
            "RLIMIT_CPU",
            "RLIMIT_NPROC",
            "RLIMIT_FSIZE",
            "RLIMIT_CORE",
            "RLIMIT_NOFILE",
        ],
        "wall_clock_kill": "SIGKILL to the launcher's process group (and the PID namespace)",
        "environment": "scrubbed: PATH, HOME, TMPDIR, LANG only",
        "python": f"{sys.executable} -I -B",
        "warnings": warnings,
    }
