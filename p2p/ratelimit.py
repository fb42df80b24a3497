"""Token buckets for per-peer rate limits; time is passed in (seconds, monotonic)."""

from __future__ import annotations


class TokenBucket:
    """Holds up to `burst` tokens, refilled at `rate_per_s`; starts full."""

    def __init__(self, rate_per_s: float, burst: float, now_s: float) -> None:
        assert rate_per_s > 0
        assert burst >= rate_per_s or burst > 0
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = burst
        self._updated_s = now_s

    def take(self, amount: float, now_s: float) -> bool:
        """Remove `amount` tokens if available; False (and nothing taken) otherwise."""
        elapsed_s = max(0.0, now_s - self._updated_s)
        self._tokens = min(self.burst, self._tokens + elapsed_s * self.rate_per_s)
        self._updated_s = now_s
        if amount > self._tokens:
            return False
        self._tokens -= amount
        assert self._tokens >= 0
        return True
