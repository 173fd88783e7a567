"""WXCC webhook ingestion: verify a Contact Center delivery, deduplicate it, claim its call under the live journey."""
