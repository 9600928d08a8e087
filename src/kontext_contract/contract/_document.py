"""Reading a built OpenAPI document (the contract or a provider document) from disk, once."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ContractError", "load_document"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContractError(Exception):
    """A document lacks something the contract model needs, or is not a document at all.

    The message names the file (when known), the place in the document (a JSONPath such as
    ``$.paths['/fal-ai/flux-pro/requests/{request_id}'].get``), what was expected and what was found.
    """


_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}
_LOCK = threading.Lock()


def load_document(path: Path) -> dict[str, Any]:
    """Parse an OpenAPI document (YAML or JSON) and return a fresh deep copy (safe to mutate).

    Parsed files are cached by path, size and modification time, so a rebuilt file is read again.

    Raises:
        ContractError: the file is missing or unreadable, not YAML, or not a mapping.
    """
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with _LOCK:
            data = _CACHE.get(key)
        if data is None:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
            if isinstance(data, dict):
                with _LOCK:
                    _CACHE[key] = data
    except OSError as exc:
        raise ContractError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ContractError(f"{path} is not UTF-8 text (byte {exc.start}): not an OpenAPI document") from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError(
            f"{path} is not an OpenAPI document: expected a mapping, found {type(data).__name__}"
        )
    return copy.deepcopy(data)
