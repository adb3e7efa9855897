"""Password hashing (argon2id) and the password policy.

Policy after NIST SP 800-63B: 8 to 128 characters, no composition rules, and refuse the most
common passwords. The bundled list (``common-passwords.txt.gz``, the 8+ character entries of the
list Django ships, BSD-3-Clause) is loaded once.
"""

from __future__ import annotations

import asyncio
import gzip
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from storybang.errors import InvalidInput
from storybang.settings import AuthSettings


@cache
def common_passwords() -> frozenset[str]:
    data = (resources.files(__package__) / "common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def check_policy(password: str, *, field: str = "password") -> None:
    if password.strip().lower() in common_passwords():
        raise InvalidInput("This password is too common; choose another.", field=field)


class Hasher:
    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verified against when the account does not exist, so that an unknown email costs the
        # same time as a wrong password.
        self._dummy = self._hasher.hash("storybang-timing-equaliser")

    async def hash(self, password: str) -> str:
        # argon2 is CPU-bound for tens of milliseconds: keep it off the event loop.
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        def run() -> bool:
            try:
                return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(run)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
