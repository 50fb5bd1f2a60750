"""Vigil and the systems around it: a TAK server (Cursor-on-Target: `cot` encodes and parses,
`tak` keeps the connection)."""
