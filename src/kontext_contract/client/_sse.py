"""A small Server-Sent Events decoder (the WHATWG rules the status stream needs, docs/sources.md §3.1).

Lines go in one at a time (without their line ending); complete events come out as their joined
``data`` text. Comment lines (``: ping``) and fields other than ``data`` are ignored; an event is
dispatched at a blank line, and an event without data is dropped.
"""

from __future__ import annotations

__all__ = ["SSEDecoder"]


class SSEDecoder:
    """Feed lines with :meth:`feed`; it returns the event's data when a blank line completes one."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        if not line:
            if not self._data:
                return None
            data = "\n".join(self._data)
            self._data = []
            return data
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        return None

    def flush(self) -> str | None:
        """The data of an event left without its closing blank line when the stream ended, if any."""
        return self.feed("")
