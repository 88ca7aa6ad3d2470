"""The Docker-free local stack: `template.yaml` served by moto and a small Lambda runtime.

Modules: `stack` (all of it together), `resources` (create the template's data resources
in moto through CloudFormation: `resource_plan` decides how each is created,
`resources_by_api` creates those moto's CloudFormation cannot), `moto_server`, `iam`
(roles from the template, IAM enforced), `runtime` (worker processes), `worker` (the child
process), `gateway` (HTTP API emulator), `pollers` and `triggers` (SQS, stream and schedule
triggers), `streams` (the stream reader and its event filter), `sink` (the webhook sink),
`carrier_setup` (the carrier simulator as the stack's carrier), `info` (the info file), and
the `smsgw local` commands (`commands`, `sim_commands`, `sim_reply`). The template itself is
read by `smsgw_tools.template`.
"""
