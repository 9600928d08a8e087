"""A client library for accessing FLUX.1 Kontext [pro] (fal.ai queue and synchronous APIs)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
