"""How the demo shows its stages in a terminal: rich when installed, else tqdm.

Each stage prints one line when it ends, with how long it took, and notes
while it runs (a pipeline step finished, a canary stepped up), so a user
watching `jupyter mlops demo` sees the loop happen rather than a frozen bar.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol, TextIO


class Reporter(Protocol):
    def stage(self, index: int, total: int, title: str) -> None: ...

    def note(self, text: str) -> None: ...

    def done(self, index: int, total: int, title: str, seconds: float, detail: str) -> None: ...

    def close(self) -> None: ...


class SilentReporter:
    """For callers that only want the result (tests, notebooks)."""

    def stage(self, index: int, total: int, title: str) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def done(self, index: int, total: int, title: str, seconds: float, detail: str) -> None:
        pass

    def close(self) -> None:
        pass


class TqdmReporter:
    """A bar over the stages on stderr, finished stages and notes written above it."""

    def __init__(self, file: TextIO | None = None) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.file = file or sys.stderr
        self.bar: Any = None

    def stage(self, index: int, total: int, title: str) -> None:
        if self.bar is None:
            # disable=None: no bar when stderr is not a terminal (CI logs keep only the lines)
            self.bar = self._tqdm(total=total, desc="demo", unit="stage", file=self.file,
                                  disable=None, bar_format="{desc} {n_fmt}/{total_fmt} |{bar:20}| "
                                             "{elapsed} {postfix}")
        self.bar.set_postfix_str(title)

    def note(self, text: str) -> None:
        self._tqdm.write(f"      · {text}", file=self.file)

    def done(self, index: int, total: int, title: str, seconds: float, detail: str) -> None:
        self._tqdm.write(f"  ✓ [{index + 1}/{total}] {title} ({seconds:.1f} s)"
                         + (f": {detail}" if detail else ""), file=self.file)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str("done")
            self.bar.close()
            self.bar = None


class RichReporter:
    """The same lines through rich, with a spinner on the stage in progress."""

    def __init__(self, file: TextIO | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=file or sys.stderr, highlight=False, soft_wrap=True)
        self.status: Any = None

    def stage(self, index: int, total: int, title: str) -> None:
        text = f"[bold][{index + 1}/{total}][/bold] {title} …"
        if self.status is None:
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def note(self, text: str) -> None:
        self.console.print(f"      · {text}", markup=False)

    def done(self, index: int, total: int, title: str, seconds: float, detail: str) -> None:
        from rich.markup import escape

        self.console.print(f"  [green]✓[/green] [{index + 1}/{total}] {escape(title)} "
                           f"[dim]({seconds:.1f} s)[/dim]" + (f": {escape(detail)}"
                                                             if detail else ""))

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


def terminal_reporter(file: TextIO | None = None) -> Reporter:
    """rich when it is installed (nicer), else tqdm (a dependency of jupyter-mlops)."""
    try:
        return RichReporter(file)
    except ImportError:
        return TqdmReporter(file)
