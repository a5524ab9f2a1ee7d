"""A local Grand Challenge: the API's download path over real HTTP, on a real database and files.

Imports nothing from the client or the downloader.
"""

from gcfetch.sandbox.app import SandboxApps, create_app
from gcfetch.sandbox.server import Sandbox
from gcfetch.sandbox.settings import SandboxSettings

__all__ = ["Sandbox", "SandboxApps", "SandboxSettings", "create_app"]
