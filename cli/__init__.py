"""The `callpipe` command line: one entry over workers, the API, bootstrap and local tooling."""
