"""The operator's admin CLI, the `smsgw` command (`cli`), and what it acts with: the table
operations on accounts, properties, webhook secrets and the number pool (`operations.Admin`),
where they act (`target`), and its expected failures in one line (`cli_errors`)."""
