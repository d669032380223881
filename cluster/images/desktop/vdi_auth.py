"""websockify auth plugin of provider-vdi's web desktop.

HTTP basic auth against the desktop's user and password from the
environment (SELKIES_BASIC_AUTH_USER, SELKIES_BASIC_AUTH_PASSWORD), so that
the password never appears on a command line; compared in constant time.
"""
import hmac
import os

from websockify.auth_plugins import BasicHTTPAuth


class EnvBasicAuth(BasicHTTPAuth):
    def __init__(self, src=None):
        user = os.environ.get("SELKIES_BASIC_AUTH_USER", "")
        password = os.environ.get("SELKIES_BASIC_AUTH_PASSWORD", "")
        if not password:
            raise ValueError("SELKIES_BASIC_AUTH_PASSWORD is empty")
        super().__init__("%s:%s" % (user, password))

    def validate_creds(self, username, password):
        given = ("%s:%s" % (username, password)).encode("utf-8")
        return hmac.compare_digest(given, self.src.encode("utf-8"))
