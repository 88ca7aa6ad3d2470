"""Operator tools: the admin CLI, the carrier simulator and the Docker-free local stack."""
