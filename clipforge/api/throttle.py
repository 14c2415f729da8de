"""Login attempts, counted per client address and per user name: past the limit, a
login is refused (429 with Retry-After) until the oldest failure leaves the window, even
with the right password, so guessing costs the window whatever the guesses.

Kept in this process: a server behind several API processes counts in each one."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from clipforge import errors


class LoginThrottle:
    def __init__(self, per_user: int, per_address: int, window: float) -> None:
        self.per_user, self.per_address, self.window = per_user, per_address, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str, user: str) -> None:
        """Refuse the attempt if either its address or its user failed too often."""
        now = time.monotonic()
        with self._lock:
            waits = [self._wait(f"address:{address}", self.per_address, now),
                     self._wait(f"user:{user.lower()}", self.per_user, now)]
        wait = max(waits)
        if wait > 0:
            raise errors.TooManyAttempts(
                f"too many failed logins from this address or for user {user[:100]}; "
                f"try again in {math.ceil(wait)} s", retry_after=math.ceil(wait))

    def failed(self, address: str, user: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"address:{address}", f"user:{user.lower()}"):
                self._failures.setdefault(key, deque()).append(now)

    def _wait(self, key: str, limit: int, now: float) -> float:
        failures = self._failures.get(key)
        if not failures:
            return 0.0
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0.0
        return failures[0] + self.window - now if len(failures) >= limit else 0.0
