"""A small Server-Sent Events decoder (the WHATWG rules the status stream needs, docs/sources.md §3.1).

:class:`LineSplitter` turns the stream's byte chunks into lines (ended by CRLF, LF or CR), with the partial
line bounded; :class:`SSEDecoder` takes the lines one at a time (without their line ending) and returns
each complete event's joined ``data`` text. Comment lines (``: ping``) and fields other than ``data`` are
ignored; an event is dispatched at a blank line, and an event without data is dropped. Both count what
they hold, so a provider sending an endless line or event cannot grow memory past a bound.
"""

from __future__ import annotations

import re

__all__ = ["LineSplitter", "SSEDecoder"]

_EOL = re.compile(rb"\r\n|\r|\n")


class LineSplitter:
    """Lines from byte chunks, with the partial line bounded: past ``max_line`` bytes without an end of
    line, ``overflow`` is set and the buffer is dropped (the caller stops reading).

    Args:
        max_line: the longest line held, bytes.
    """

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.buffer = bytearray()
        self.overflow = False
        self._scanned = 0

    def feed(self, chunk: bytes) -> list[str]:
        """The lines ``chunk`` completes (decoded as UTF-8, bad bytes replaced)."""
        self.buffer += chunk
        out: list[str] = []
        start = 0
        for match in _EOL.finditer(self.buffer, self._scanned):
            if match.group() == b"\r" and match.end() == len(self.buffer):
                break  # a CR ending the chunk: wait to see whether an LF follows
            out.append(bytes(self.buffer[start : match.start()]).decode("utf-8", "replace"))
            start = match.end()
        del self.buffer[:start]
        self._scanned = max(0, len(self.buffer) - 1)  # rescan only a trailing CR
        if len(self.buffer) > self.max_line:
            self.overflow = True
            self.buffer.clear()
            self._scanned = 0
        return out

    def close(self) -> list[str]:
        """The last line, when the stream ended without an end of line."""
        rest, self.buffer = bytes(self.buffer), bytearray()
        return [rest.rstrip(b"\r").decode("utf-8", "replace")] if rest else []


class SSEDecoder:
    """Feed lines with :meth:`feed`; it returns the event's data when a blank line completes one.
    :attr:`pending` is the size of the event's data held so far, characters."""

    __slots__ = ("_data", "pending")

    def __init__(self) -> None:
        self._data: list[str] = []
        self.pending = 0

    def feed(self, line: str) -> str | None:
        if not line:
            if not self._data:
                return None
            data = "\n".join(self._data)
            self._data = []
            self.pending = 0
            return data
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self.pending += len(value) + 1
        return None

    def flush(self) -> str | None:
        """The data of an event left without its closing blank line when the stream ended, if any."""
        return self.feed("")
