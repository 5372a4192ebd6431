"""Run a README block's commands as a person at a terminal would, one at a time.

State carries from one command to the next as in an interactive shell (``export``, ``read``);
a command ending in ``&`` runs in the background in its own process group until ``close``; a
watch (``-w``) runs until a condition the test gives holds. A block runs with explicit, checked
substitutions (its port, database, namespace, wallet folder), so a test never touches the user's
own ``~/.bittensor`` or a port another session uses.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .blocks import Block, Command, commands

# Variables bash sets for itself; carrying them over would make each command a deeper shell.
SHELL_OWN = frozenset({"_", "SHLVL", "OLDPWD"})
T = TypeVar("T")


class BlockFailed(AssertionError):
    """A command of a README block failed: the message names the block, the command, its
    output, and the tail of every background command's log."""


def substitute(block: Block, subs: list[tuple[str, str]], optional: bool = False) -> str:
    """The block's text with each ``(old, new)`` replaced everywhere; unless ``optional``,
    an ``old`` that does not occur is an error (the README changed under the test: running
    it unsubstituted would use the user's port, files or namespace)."""
    text = block.text
    for old, new in subs:
        if old not in text and not optional:
            raise BlockFailed(f"{block.key}: expected {old!r} in the block (README changed?)")
        text = text.replace(old, new)
    return text


@dataclass
class Background:
    """A background command: its process (own session) and its log file."""

    command: str
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass
class Shell:
    """One terminal session: environment, working directory, background jobs, logs.

    ``ready`` maps a regex on a background command to a wait that returns once it serves
    (a person waits for its log line); ``watch_until`` maps a regex on a watch command to the
    condition that ends it; ``stdin`` maps a regex on a command to what is typed at it."""

    cwd: Path
    env: dict[str, str]
    logs: Path
    ready: dict[str, Callable[[Command], None]] = field(default_factory=dict)
    watch_until: dict[str, Callable[[], bool]] = field(default_factory=dict)
    stdin: dict[str, str] = field(default_factory=dict)
    timeout: float = 300.0
    watch_timeout: float = 300.0
    logs_elsewhere: list[Path] = field(default_factory=list)  # where commands redirect theirs
    background: list[Background] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    def run_block(self, block: Block, text: str) -> None:
        """Run ``text`` (the block's text after substitution) command by command."""
        for cmd in commands(text):
            self._check_background(block, cmd)
            self.transcript.append(f"$ {cmd.text}{' &' if cmd.background else ''}")
            if cmd.background:
                self._start(block, cmd)
            elif cmd.is_watch:
                self._watch(block, cmd)
            else:
                self._run(block, cmd)

    def _hook(self, table: dict[str, T], cmd: Command) -> T | None:
        return next((v for k, v in table.items() if re.search(k, cmd.text)), None)

    def _run(self, block: Block, cmd: Command) -> None:
        envfile = self.logs / "env"
        script = f'{cmd.text}\n__rc=$?; env -0 > "{envfile}"; exit $__rc\n'
        try:
            r = subprocess.run(
                ["bash", "-c", script],
                cwd=self.cwd,
                env=self.env,
                input=self._hook(self.stdin, cmd) or "",
                capture_output=True,
                text=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise BlockFailed(self._report(block, cmd, f"timed out after {e.timeout}s")) from None
        self.transcript.append(r.stdout + r.stderr)
        if r.returncode != 0:
            raise BlockFailed(
                self._report(block, cmd, f"exit {r.returncode}:\n{r.stdout}{r.stderr}")
            )
        pairs = (kv.split("=", 1) for kv in envfile.read_text().split("\0") if "=" in kv)
        self.env = {k: v for k, v in pairs if k not in SHELL_OWN}

    def _spawn(self, cmd: Command, log: Path) -> subprocess.Popen[bytes]:
        """``cmd`` running in the background with its output in ``log``."""
        with log.open("wb") as out:
            return subprocess.Popen(
                ["bash", "-c", cmd.text],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: close() ends it and all it started
            )

    def _start(self, block: Block, cmd: Command) -> None:
        log = self.logs / f"bg-{len(self.background)}.log"
        proc = self._spawn(cmd, log)
        self.background.append(Background(cmd.text, proc, log))
        wait = self._hook(self.ready, cmd)
        try:
            if wait is not None:
                wait(cmd)
            else:
                time.sleep(1.0)
        except Exception as e:
            raise BlockFailed(self._report(block, cmd, f"not ready: {e}")) from None
        if proc.poll() is not None:
            raise BlockFailed(self._report(block, cmd, f"exited {proc.returncode} at once"))

    def _watch(self, block: Block, cmd: Command) -> None:
        until = self._hook(self.watch_until, cmd)
        if until is None:
            raise BlockFailed(f"{block.key}: no condition ends the watch {cmd.text!r}")
        log = self.logs / "watch.log"
        proc = self._spawn(cmd, log)
        try:
            deadline = time.monotonic() + self.watch_timeout
            # the condition holds and the watch has shown something (its first listing)
            while not (until() and log.stat().st_size > 0):
                self._check_background(block, cmd)
                if proc.poll() is not None:
                    raise BlockFailed(
                        self._report(block, cmd, f"the watch ended ({proc.returncode}):\n"
                                     f"{log.read_text()}")
                    )  # fmt: skip
                if time.monotonic() > deadline:
                    raise BlockFailed(
                        self._report(block, cmd, f"condition not met in {self.watch_timeout}s:\n"
                                     f"{log.read_text()[-3000:]}")
                    )  # fmt: skip
                time.sleep(1.0)
        finally:
            _stop(proc)
        self.transcript.append(log.read_text())

    def _check_background(self, block: Block, cmd: Command) -> None:
        """A background command that ended (the chain, the operator) fails the block at once."""
        for b in self.background:
            if b.proc.poll() is not None:
                raise BlockFailed(
                    self._report(
                        block, cmd, f"(before it): `{b.command}` exited {b.proc.returncode}"
                    )
                )

    def _report(self, block: Block, cmd: Command, what: str) -> str:
        tails = "\n".join(
            f"--- background `{b.command}` (log {b.log}):\n{b.log.read_text(errors='replace')[-2500:]}"
            for b in self.background
        )
        tails += "".join(
            f"\n--- {log}:\n{log.read_text(errors='replace')[-2500:]}"
            for log in self.logs_elsewhere
            if log.is_file()
        )
        return f"{block.key} (line {block.line}): `{cmd.text}` {what}\n{tails}"

    def close(self) -> None:
        """End every background command (its whole process group), newest first."""
        for b in reversed(self.background):
            _stop(b.proc)


def _stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the process group, SIGKILL it if still there after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
