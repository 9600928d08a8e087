"""Bounded decoding of an answer's Content-Encoding (RFC 9110 §8.4.1: ``gzip``, ``deflate``, ``identity``,
the codings httpx decodes), with the standard library's ``zlib``. No I/O.

httpx decodes a compressed chunk whole: a gzip body of 64 KiB can decode to 64 MiB in one call (a
"gzip bomb"), past any bound the reader sets. :class:`BodyDecoder` gives the decoded bytes in pieces of at
most :data:`PIECE` bytes (``zlib.decompressobj().decompress(data, max_length)``), so the reader can stop at
its bound with only one piece beyond it in memory. Encodings httpx itself does not decode are not
decoded here either: :meth:`BodyDecoder.for_encoding` answers ``None`` for them, and the caller lets
httpx handle the body (which passes an unknown coding through undecoded).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

__all__ = ["PIECE", "BodyDecoder", "BodyDecodingError"]

#: the most decoded bytes one step gives, bytes
PIECE = 64 * 1024

#: the codings httpx decodes (it passes ``x-gzip`` and others through as they are), and zlib's window bits
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class BodyDecodingError(ValueError):
    """The bytes do not decode as their Content-Encoding says."""


class _Stage:
    """One coding's decoder."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib = zlib.decompressobj(_WBITS[encoding])
        self._first = True

    def feed(self, raw: bytes) -> Iterator[bytes]:
        data = raw
        while data:
            try:
                piece = self._zlib.decompress(data, PIECE)
            except zlib.error as exc:
                if self._first and self.encoding == "deflate":  # a raw deflate stream, as httpx accepts
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                raise BodyDecodingError(f"not {self.encoding} data: {exc}") from None
            self._first = False
            data = self._zlib.unconsumed_tail
            if piece:
                yield piece
            if self._zlib.eof:
                return

    def end(self) -> Iterator[bytes]:
        try:
            rest = self._zlib.flush()
        except zlib.error as exc:
            raise BodyDecodingError(f"not {self.encoding} data: {exc}") from None
        for at in range(0, len(rest), PIECE):
            yield rest[at : at + PIECE]


class BodyDecoder:
    """Raw bytes in (:meth:`feed`, then :meth:`end`), decoded pieces of at most :data:`PIECE` bytes out.
    A chain of codings (``gzip, deflate``) is undone last first, each stage fed the previous one's pieces."""

    def __init__(self, encodings: list[str]) -> None:
        self.encodings = encodings
        self._stages = [_Stage(e) for e in reversed(encodings)]

    @classmethod
    def for_encoding(cls, content_encoding: str | None) -> BodyDecoder | None:
        """The decoder of a Content-Encoding header's value, or ``None`` when a coding is not one httpx
        decodes (the body is then left to httpx, which passes it through undecoded)."""
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if any(c not in _WBITS for c in codings):
            return None
        return cls(codings)

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded bytes of ``raw``, piece by piece.

        Raises:
            BodyDecodingError: not valid data of the encoding.
        """
        yield from self._through(0, [raw[at : at + PIECE] for at in range(0, len(raw), PIECE)])

    def end(self) -> Iterator[bytes]:
        """What the decoder still holds once the body has ended."""
        for index, stage in enumerate(self._stages):
            yield from self._through(index + 1, stage.end())

    def _through(self, index: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """``pieces`` through the stages from ``index`` on."""
        if index == len(self._stages):
            yield from pieces
            return
        stage = self._stages[index]
        for piece in pieces:
            yield from self._through(index + 1, stage.feed(piece))
