"""The Docker-free local stack: `template.yaml` served by moto and a small Lambda runtime.

Modules: `template` (read and translate the SAM template), `resources` (create its data
resources in moto through CloudFormation), `moto_server`, `runtime` (worker processes),
`worker` (the child process), `gateway` (HTTP API emulator), `pollers` (SQS and schedule
triggers), `stack` (all of it together) and `cli` (`smsgw local up|demo`).
"""
