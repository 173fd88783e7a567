"""Local stand-ins for the outside world: an AWS emulator launcher, the WXCC simulator, an OpenAI-compatible fake."""
