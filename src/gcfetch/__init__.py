"""gcfetch: fast, safe, resumable downloads of Grand Challenge algorithm outputs.

`import gcfetch as gcapi` runs scripts written for the official client on the download path.
"""

from gcfetch.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    GCFetchError,
    IntegrityError,
    MultipleObjectsReturned,
    ObjectNotFound,
    ServerError,
    TransferError,
    UnsafePathError,
)

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "GCFetchError",
    "IntegrityError",
    "MultipleObjectsReturned",
    "ObjectNotFound",
    "ServerError",
    "TransferError",
    "UnsafePathError",
    "__version__",
]
