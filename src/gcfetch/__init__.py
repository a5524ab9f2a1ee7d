"""gcfetch: fast, safe, resumable downloads of Grand Challenge algorithm outputs.

`import gcfetch as gcapi` runs scripts written for the official client on the download path.
"""

from gcfetch import errors as exceptions  # gcapi.exceptions.ObjectNotFound keeps working
from gcfetch import models
from gcfetch.client import Client
from gcfetch.errors import (
    APIError,
    AuthenticationError,
    CertificateError,
    ConfigurationError,
    GCFetchError,
    IntegrityError,
    MultipleObjectsReturned,
    ObjectNotFound,
    ServerError,
    TransferCancelled,
    TransferError,
    UnexpectedResponse,
    UnsafePathError,
)
from gcfetch.models import (
    Algorithm,
    AlgorithmImage,
    Image,
    ImageFile,
    Job,
    Socket,
    SocketValue,
)
from gcfetch.outputs import (
    DownloadSummary,
    Failure,
    download_archive,
    download_display_sets,
    download_outputs,
)
from gcfetch.resources import PageResult
from gcfetch.retry import RetryPolicy
from gcfetch.transfer import TransferResult

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "Algorithm",
    "AlgorithmImage",
    "AuthenticationError",
    "CertificateError",
    "Client",
    "ConfigurationError",
    "DownloadSummary",
    "Failure",
    "GCFetchError",
    "Image",
    "ImageFile",
    "IntegrityError",
    "Job",
    "MultipleObjectsReturned",
    "ObjectNotFound",
    "PageResult",
    "RetryPolicy",
    "ServerError",
    "Socket",
    "SocketValue",
    "TransferCancelled",
    "TransferError",
    "TransferResult",
    "UnexpectedResponse",
    "UnsafePathError",
    "__version__",
    "download_archive",
    "download_display_sets",
    "download_outputs",
    "exceptions",
    "models",
]
