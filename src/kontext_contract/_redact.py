"""The one redaction of API keys, shared by the client, ``generate`` and the checks.

A :class:`Redactor` replaces every occurrence of one key, and of its ``id`` and ``secret`` halves (the
parts of ``id:secret`` that have 6 characters or more), with ``****``. A live redactor can be
*registered*: then

- :func:`redact` (and :func:`redact_deep`) apply every registered redactor, so an error or a line built
  anywhere in the process is cleaned without knowing which key is in use;
- :class:`LogRedaction` filters the records of the client's and the checks' loggers and of the HTTP
  stack (``httpx``, ``httpcore.*``: httpcore logs response headers at DEBUG, so a provider that echoes the
  ``Authorization`` header would otherwise put the key into a log).

Registration is weak: a redactor no longer referenced (its client closed and collected) drops out.
Limits: the key is found as written; a key transformed by the provider (percent-encoded, base64,
split) is not recognised. Process-wide, only secrets of :data:`MIN_SHARED` characters or more are
searched for (a test key such as ``"k"`` would otherwise turn every "k" of every message into ``****``);
a redactor's own :meth:`Redactor.text` replaces its whole key whatever its length, a key shorter than that
only as a whole token (never inside a word or a URL path: ``/fal-ai/flux-pro/`` stays as it is with the key
``x``). Real keys are long
(fal's ``id:secret`` is 36 + 32 characters).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from typing import Any

__all__ = ["LOGGERS", "LogRedaction", "Redactor", "install_log_filter", "redact", "redact_deep", "register"]

#: the loggers whose records may carry a key: the project's own, httpx's and each of httpcore's
#: (a filter applies only to records created on the logger it is attached to, not to its children)
LOGGERS: tuple[str, ...] = (
    "kontext_contract.client",
    "kontext_contract.checks",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

_MASK = "****"
#: the shortest secret the process-wide redaction looks for, characters
MIN_SHARED = 6
#: what a short key's neighbours must not be for it to count as a whole token (a character of a word,
#: a number, a host name or a path segment)
_TOKEN = r"[A-Za-z0-9_.\-]"


class Redactor:
    """Replaces the key ``key`` and its id and secret halves (6+ characters) with ``****``.

    Args:
        key: the credential as sent after the scheme (``id:secret`` for fal, a token for relays).
    """

    def __init__(self, key: str) -> None:
        parts = {key, *(p for p in key.split(":") if len(p) >= 6)} if key else set()
        self._secrets = sorted(parts, key=len, reverse=True)
        self._shared = [secret for secret in self._secrets if len(secret) >= MIN_SHARED]
        # a key shorter than MIN_SHARED is replaced only as a whole token, never inside a word or a path
        # segment (a key "x" must not turn /fal-ai/flux-pro/ into /fal-ai/flu****-pro/)
        short = [re.escape(s) for s in self._secrets if len(s) < MIN_SHARED]
        self._short = re.compile(rf"(?<!{_TOKEN})(?:{'|'.join(short)})(?!{_TOKEN})") if short else None

    def text(self, value: str) -> str:
        """``value`` with every occurrence of the key (or a half of it) replaced by ``****``; a key under
        :data:`MIN_SHARED` characters only where it stands as a whole token."""
        for secret in self._shared:
            if secret in value:
                value = value.replace(secret, _MASK)
        if self._short is not None:
            value = self._short.sub(_MASK, value)
        return value

    def raw(self, value: bytes) -> bytes:
        """:meth:`text` for raw bytes (a body stored as base64 in a recording): every occurrence of the key
        (or a half of it), UTF-8 encoded, replaced by ``****``."""
        for secret in self._secrets:
            encoded = secret.encode("utf-8")
            if encoded in value:
                value = value.replace(encoded, _MASK.encode("ascii"))
        return value

    def shared_text(self, value: str) -> str:
        """:meth:`text` for the secrets of :data:`MIN_SHARED` characters or more (process-wide use)."""
        for secret in self._shared:
            if secret in value:
                value = value.replace(secret, _MASK)
        return value

    def contains(self, value: str) -> bool:
        """Whether ``value`` holds the key or one of its halves (a short key: as a whole token)."""
        if any(secret in value for secret in self._shared):
            return True
        return self._short is not None and self._short.search(value) is not None

    def deep(self, value: Any, _depth: int = 0) -> Any:
        """A copy of a JSON-like value (dicts, lists, strings) with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if _depth > 64:
            return value
        if isinstance(value, list | tuple):
            return [self.deep(v, _depth + 1) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.deep(v, _depth + 1) for k, v in value.items()}
        return value


_lock = threading.Lock()
_live: weakref.WeakSet[Redactor] = weakref.WeakSet()


def register(redactor: Redactor) -> Redactor:
    """Make ``redactor`` apply in :func:`redact` and in the log filter while it is referenced; returns it.
    Installs the log filter on :data:`LOGGERS` the first time."""
    with _lock:
        _live.add(redactor)
    install_log_filter()
    return redactor


def unregister(redactor: Redactor) -> None:
    """Stop applying ``redactor`` (e.g. when its session closes)."""
    with _lock:
        _live.discard(redactor)


def _redactors() -> list[Redactor]:
    with _lock:
        return list(_live)


def redact(text: str) -> str:
    """``text`` with the key of every registered redactor replaced by ``****``."""
    for redactor in _redactors():
        text = redactor.shared_text(text)
    return text


def redact_deep(value: Any, _depth: int = 0) -> Any:
    """A JSON-like value with every string redacted by every registered redactor (unchanged if none)."""
    if isinstance(value, str):
        return redact(value)
    if _depth > 64 or not _redactors():
        return value
    if isinstance(value, list | tuple):
        return [redact_deep(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {redact(str(k)): redact_deep(v, _depth + 1) for k, v in value.items()}
    return value


class _Filter(logging.Filter):
    """Rewrites a record's message (and formatted traceback) with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _redactors():
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = _Filter()


def install_log_filter() -> None:
    """Attach the redacting filter to every logger of :data:`LOGGERS` (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class LogRedaction:
    """Redacts ``redactor``'s key in the records of :data:`LOGGERS` between :meth:`install` and
    :meth:`remove` (the checks' session uses it for its lifetime)."""

    LOGGERS = LOGGERS

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def install(self) -> None:
        register(self.redactor)

    def remove(self) -> None:
        unregister(self.redactor)
