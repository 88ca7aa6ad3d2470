"""Pure helpers every layer may import: text encoding, addresses, schedule maths, page
tokens, webhook signing. No I/O, and nothing else of smsgw but `errors`, `ids` and
`explanations` (docs/architecture.md)."""
