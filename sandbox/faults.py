"""Injected faults, set through the admin endpoint: each rule fires on `count` matching requests
after letting `after` of them through, so a test can break exactly the third page."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

KINDS = {"429", "500", "503", "slow", "drop", "expire_token"}
ANSWERING = {"429", "500", "503", "drop"}
ENDPOINTS = {"referrals", "solutions", "traffic", "token", "any"}


@dataclass
class FaultRule:
    kind: str  # 429 | 500 | 503 | slow | drop (connection closed mid-body) | expire_token
    endpoint: str = "any"
    after: int = 0  # matching requests let through before the rule fires
    count: int = 1  # how many times it fires (-1: always)
    retry_after: float = 1.0  # seconds, for 429 and 503
    delay: float = 1.0  # seconds, for slow

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; one of {sorted(ENDPOINTS)}")


class FaultPlan:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def replace(self, rules: list[dict]) -> None:
        parsed = [FaultRule(**rule) for rule in rules]
        with self._lock:
            self._rules = parsed

    def describe(self) -> list[dict]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def take(self, endpoint: str) -> list[FaultRule]:
        """The rules firing on this request (each consumes one of its counts). At most one of
        them answers the request (an error status or a drop); another one due then waits for
        the next request."""
        fired = []
        answered = False
        with self._lock:
            for rule in self._rules:
                if rule.endpoint not in (endpoint, "any") or rule.count == 0:
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                if rule.kind in ANSWERING:
                    if answered:
                        continue
                    answered = True
                if rule.count > 0:
                    rule.count -= 1
                fired.append(rule)
        return fired
