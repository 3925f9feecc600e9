"""What every part of the embedded stack is: started, stopped, and usable as a `with` block.

    with EmbeddedStack(config) as stack: ...     # starts it, and stops it however the block ends

The moto server, the emulator, nginx and the stack that starts them all share it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Running(ABC):
    """A part that `start()` brings up and `stop()` takes down (safe to call twice)."""

    @property
    @abstractmethod
    def running(self) -> bool:
        """Started and not yet stopped."""

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
