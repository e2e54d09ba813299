"""Public ids: UUIDs, as DESIGN.md asks, but time-ordered (the UUIDv7 layout of RFC 9562).

A random (v4) id lands on a random page of its unique index, so every insert into a large table
touches a different page; ids that start with a millisecond timestamp all land at the end of the
index. The 74 random bits that remain keep them unguessable.
"""

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    milliseconds = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = (milliseconds & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (random_bits >> 68) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 9562 variant
    value |= random_bits & ((1 << 62) - 1)  # 62 random bits
    return uuid.UUID(int=value)
