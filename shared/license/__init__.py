"""Licensing: signed license keys, the license table, usage metering and the hold/resume of calls over a limit."""
