"""Django's database sessions, with a session key from a cookie taken only if it could be
one Django made."""

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS


class SessionStore(db.SessionStore):
    """A quoted cookie value may hold octal escapes ("\\000"), which Django's cookie parser
    turns into characters; a NUL in the key reached PostgreSQL, which refuses it in a query
    (a 500 on every page). Django makes keys of lower-case letters and digits only: any
    other key is no session, as a wrong one is."""

    def _validate_session_key(self, key: Any) -> bool:
        # Django's own rule (text of 8 characters or more), and Django's alphabet.
        return isinstance(key, str) and len(key) >= 8 and set(key) <= set(VALID_KEY_CHARS)
