"""Reconcilers as ordered steps that each return an outcome (the shape of KubeRay's reconcilers).

A reconcile is a tuple of steps run in order on one mutable record of what the run has learned.
Each step returns :data:`CONTINUE` (go on to the next step), :class:`Wait` (stop here: write the
status of this view and come back after ``after`` seconds) or :class:`Done` (stop here: write
the status of this view, the reconcile reached its end). :func:`run_steps` stops at the first
outcome that is not :data:`CONTINUE`; the reconciler then writes the status once and turns a
requeue into :class:`~subnetes.operator.runtime.Retry`. No step raises to leave early, so every
exit is a value a test can look at.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

from . import faults

V = TypeVar("V")  # the view a stopping outcome carries (NeuronView, SubnetView)
R = TypeVar("R")  # what every step gets first (the Runtime)
S = TypeVar("S")  # the run's record, shared by the steps


@dataclass(frozen=True)
class Continue:
    """Go on with the next step."""


CONTINUE = Continue()


@dataclass(frozen=True)
class Wait(Generic[V]):
    """Stop: write the status for ``view`` and reconcile again after ``after`` seconds.

    Waiting is not an error: a subnet not registered yet, a burn above the limit, a backoff.
    """

    view: V
    after: float


@dataclass(frozen=True)
class Done(Generic[V]):
    """Stop: write the status for ``view``; the run reached its end. ``requeue`` (seconds), when
    set, brings the object back although nothing changes (a refusal worth trying again)."""

    view: V
    requeue: float | None = None


Outcome: TypeAlias = Continue | Wait[V] | Done[V]
Step: TypeAlias = Callable[[R, S], Awaitable[Outcome[V]]]


async def run_steps(steps: Sequence[Step[R, S, V]], rt: R, run: S) -> Outcome[V]:
    """Run ``steps`` in order on ``run``; the first outcome that is not CONTINUE, else CONTINUE."""
    for step in steps:
        outcome = await step(rt, run)
        # Test-only crash point at each step boundary (a no-op unless a test set it): faults.py.
        faults.reached(f"step:{getattr(step, '__name__', step)}")
        if not isinstance(outcome, Continue):
            return outcome
    return CONTINUE


def requeue_after(outcome: Outcome[V]) -> float | None:
    """Seconds until the object should be reconciled again after ``outcome``; None: not requeued."""
    if isinstance(outcome, Wait):
        return outcome.after
    if isinstance(outcome, Done):
        return outcome.requeue
    return None
