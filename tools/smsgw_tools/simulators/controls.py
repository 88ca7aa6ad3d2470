"""The carrier simulator's control endpoints under `/_sim/` (JSON in and out): inspect
submissions and receipts, set outcomes, faults and latency, send replies, and End User
Messaging's SNS (docs/local-stack.md, "Controlling the carrier simulator")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smsgw_tools.simulators.sns import Sns
from smsgw_tools.simulators.state import SimulatorState
from smsgw_tools.simulators.wire import Answer


def _health(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"status": "ok", "account_sid": state.account_sid}


def _messages(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"messages": state.submissions(), "refused": state.refused()}


def _reset(state: SimulatorState, _: dict[str, Any]) -> Answer:
    state.reset()
    return 200, {"status": "ok"}


def _get_fault(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, state.fault()


def _set_fault(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    fault = state.set_fault(
        payload.get("mode", ""),
        payload.get("count"),
        payload.get("to"),
        timeout_seconds=payload.get("timeout_seconds"),
        status=payload.get("status"),
    )
    return 200, fault


def _set_latency(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    return 200, {"seconds": state.set_latency(payload.get("seconds"))}


def _set_outcome(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    return 200, state.set_outcome(payload)


def _get_outcomes(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"outcomes": state.outcomes()}


def _receipts(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"receipts": state.receipts.sent() if state.receipts else []}


def _send_reply(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    return state.replies.send(payload)


def _replies(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"replies": state.replies.sent()}


def _sns_of(state: SimulatorState) -> Sns:
    if state.sns is None:
        raise ValueError(f"SNS is End User Messaging's: this simulator speaks {state.carrier}")
    return state.sns


def _sns(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, _sns_of(state).describe()


def _subscribe(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    """Subscribe an endpoint to a topic; SNS sends it the SubscriptionConfirmation now."""
    return 200, _sns_of(state).subscribe(payload.get("topic", ""), payload.get("endpoint", ""))


CONTROL_ROUTES: dict[tuple[str, str], Callable[[SimulatorState, dict[str, Any]], Answer]] = {
    ("POST", "/_sim/outcomes"): _set_outcome,
    ("GET", "/_sim/outcomes"): _get_outcomes,
    ("GET", "/_sim/receipts"): _receipts,
    ("POST", "/_sim/replies"): _send_reply,
    ("GET", "/_sim/replies"): _replies,
    ("GET", "/_sim/health"): _health,
    ("GET", "/_sim/messages"): _messages,
    ("POST", "/_sim/reset"): _reset,
    ("GET", "/_sim/faults"): _get_fault,
    ("POST", "/_sim/faults"): _set_fault,
    ("POST", "/_sim/latency"): _set_latency,
    ("GET", "/_sim/sns"): _sns,
    ("POST", "/_sim/sns/subscriptions"): _subscribe,
}
