"""Drift: between two contracts (:func:`diff_documents`) and between the sources and newer published
copies of them (:func:`check_sources`)."""

from ._diff import Change, diff_documents
from ._load import ContractLoadError, load_contract

__all__ = ["Change", "ContractLoadError", "diff_documents", "load_contract"]
