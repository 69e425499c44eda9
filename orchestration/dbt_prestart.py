"""A dbt process started ahead of the refresh's build, which the build's dbt command hands its work.

Starting dbt costs ~2 s before it reads a single model: importing dbt (~1.5 s) and its DuckDB
adapter. dagster-dbt starts that process only when the build step begins, so on a 1% incremental
refresh those seconds came after ingestion, on an otherwise idle core. The refresh CLI therefore
starts one dbt process at its own start (`start`), which imports dbt beside the import of the code
location and then waits. When dagster-dbt runs `referral-insights-dbt build ...`, that command
(orchestration/dbt_cli.py) finds the waiting process through the environment and hands it its
arguments, working directory, environment and standard streams (`relay`); the waiting process runs
the build exactly as the command would have, and the command exits with the build's exit code. To
dagster-dbt nothing changes: the same JSON events arrive on the same pipe, from the same command.

One build per started process. Any other dbt command, a second build, a build in a run that
Dagster launched, or a process that is gone or broken: dbt starts the usual way. The socket is in
a temporary folder only its owner can enter.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = "REFERRAL_INSIGHTS_DBT_PRESTARTED"
"""The socket of the started dbt process, for the commands this process starts."""
RELAYED_COMMANDS = ("build",)
SOCKET_NAME = "prestarted-dbt.sock"
IDLE_TIMEOUT_S = 1800.0
"""A started process nobody asked for exits after this long (or when its parent does)."""
ACCEPT_TIMEOUT_S = 60.0
"""How long a command waits for the process to finish importing dbt before starting its own."""
_HEADER = struct.Struct("!Q")

_started: subprocess.Popen | None = None


def start() -> bool:
    """Start a dbt process for this process's next dbt build, and name it in this process's
    environment so that the build's command finds it. Returns whether one was started."""
    global _started
    if _started is not None and _started.poll() is None:
        return False
    # A folder only its owner can enter (the socket takes commands), with a short path (socket
    # paths are limited to ~100 bytes).
    path = Path(tempfile.mkdtemp(prefix="referral-insights-dbt-")) / SOCKET_NAME
    # Listening before the process starts: a build that comes while it still imports dbt waits
    # in the backlog instead of missing it.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)
        _started = subprocess.Popen(
            [
                sys.executable, "-m", "orchestration.dbt_prestart",
                str(listener.fileno()), str(os.getpid()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=[listener.fileno()],
        )  # fmt: skip
    os.environ[ENV] = str(path)
    return True


def stop() -> None:
    """Reap the started process (it exits after its build), or end it if nobody used it."""
    global _started
    path = os.environ.pop(ENV, None)
    process, _started = _started, None
    if process is not None:
        if path and Path(path).exists():  # still listening: it was never handed a build
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if path:
        shutil.rmtree(Path(path).parent, ignore_errors=True)


def relay(args: list[str]) -> int | None:
    """Hand a dbt command to the started process, if there is one and the command is a build;
    its exit code, or None when the caller should run dbt itself."""
    path = os.environ.get(ENV)
    if not path or not args or args[0] not in RELAYED_COMMANDS:
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(ACCEPT_TIMEOUT_S)
    replies = client.makefile("rb")
    try:
        client.connect(path)
        server_pid = int(replies.readline())  # the process has accepted: it is ours now
    except (OSError, ValueError):
        replies.close()
        client.close()
        return None
    client.settimeout(None)
    env = {k: v for k, v in os.environ.items() if k != ENV}
    request = {"argv0": sys.argv[0], "args": args, "cwd": os.getcwd(), "env": env}
    request = json.dumps(request).encode()
    socket.send_fds(client, [_HEADER.pack(len(request))], [0, 1, 2])
    client.sendall(request)

    def forward(signum, _frame) -> None:
        try:
            os.kill(server_pid, signum)
        except ProcessLookupError:
            pass

    # dagster-dbt interrupts a cancelled build with SIGINT to this process: pass it on.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    reply = replies.readline().decode().strip()
    replies.close()
    client.close()
    # no exit code: the process died mid-build (killed, or out of memory)
    return int(reply) if reply.lstrip("-").isdigit() else 1


def serve(listening_fd: int, parent: int) -> int:
    """The started process: import dbt, then run the one build handed over on the listening
    socket (or exit once `parent`, the refresh, is gone). Its socket folder goes with it."""
    listener = socket.socket(fileno=listening_fd)
    socket_path = Path(listener.getsockname())
    try:
        return _serve_one_build(listener, socket_path, parent)
    finally:
        shutil.rmtree(socket_path.parent, ignore_errors=True)


def _serve_one_build(listener: socket.socket, socket_path: Path, parent: int) -> int:
    with listener:
        import dbt.adapters.duckdb  # noqa: F401  (the adapter the build registers)
        import dbt.cli.main  # noqa: F401  (what this process is for)

        from orchestration import dbt_cli

        dbt_cli.honour_profile_ansi_mode()
        listener.settimeout(1.0)
        deadline = time.monotonic() + IDLE_TIMEOUT_S
        while True:
            try:
                connection, _ = listener.accept()
                break
            except TimeoutError:
                if os.getppid() != parent or time.monotonic() > deadline:
                    return 0
    socket_path.unlink(missing_ok=True)  # one build: nobody else gets in
    connection.settimeout(None)
    connection.sendall(f"{os.getpid()}\n".encode())
    try:
        header, fds, _flags, _addr = socket.recv_fds(connection, _HEADER.size, 3)
        (size,) = _HEADER.unpack(header)
        request = json.loads(connection.makefile("rb").read(size))
    except (OSError, ValueError, struct.error):
        return 1
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    # as the command's own dbt would: its output unbuffered (dagster-dbt sets PYTHONUNBUFFERED)
    sys.stdout.reconfigure(line_buffering=True, write_through=True)
    sys.stderr.reconfigure(line_buffering=True, write_through=True)
    sys.argv = [request["argv0"], *request["args"]]
    try:
        dbt_cli.run(request["args"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # as Python reports an uncaught exception
        import traceback

        traceback.print_exc()
        code = 1
    # dbt-duckdb closes (and checkpoints) the warehouse at exit: do it before the command exits,
    # so that whoever opens the warehouse next finds it free.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):  # let go of the command's pipe: dagster-dbt reads it to its end
        os.dup2(devnull, target)
    connection.sendall(f"{code}\n".encode())
    connection.close()
    return code


if __name__ == "__main__":
    os._exit(serve(int(sys.argv[1]), int(sys.argv[2])))
