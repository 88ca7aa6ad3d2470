"""The carrier simulator: one HTTP server that speaks a carrier's wire format.

`server.CarrierSimulator(carrier="twilio" | "vonage" | "eum")` is the server the adapters
are exercised against, in the tests and in the local stack. Its modules, by job:

- `server`: the running simulator (`CarrierSimulator`) and `python -m
  smsgw_tools.simulators.server`;
- `handler`: HTTP to and from the state; `controls`: the `/_sim/` control endpoints;
- `state`: what the simulator knows and decides (submissions, faults, latency, outcomes);
- `wire`: what the handler needs of a carrier's wire format, and one module per carrier:
  `twilio_wire`, `vonage_wire`, `eum_wire` (requests, answers, receipts, inbound messages);
- `sns`, `sns_messages` and `certificates`: the SNS that End User Messaging publishes
  through (topics and subscriptions, signed messages, the private CA);
- `receipt_sender` and `reply_sender`: delivery receipts and replies sent to the gateway.
"""
