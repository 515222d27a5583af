"""Comparison operators of criteria, and which side of a threshold is the bad one."""

from __future__ import annotations

from typing import Any

ORDERED = ("<", "<=", ">", ">=")


def holds(value: Any, op: str, threshold: Any) -> bool:
    """Does `value op threshold` hold? `value` is never None here."""
    if op == "<":
        return value < threshold
    if op == "<=":
        return value <= threshold
    if op == ">":
        return value > threshold
    if op == ">=":
        return value >= threshold
    if op == "==":
        return value == threshold
    if op == "!=":
        return value != threshold
    if op == "in":
        return value in threshold
    if op == "not_in":
        return value not in threshold
    raise ValueError(f"unknown operator {op!r}")


def worse(op: str, a: Any, b: Any) -> bool:
    """Is value `a` further on the failing side than `b`? Used to pick the worst subject/window."""
    if op in ("<", "<="):
        return a > b
    if op in (">", ">="):
        return a < b
    return False  # labels have no order; the first failing one is as bad as any
