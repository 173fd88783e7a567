"""An OpenAI-compatible fake (`/v1/audio/transcriptions`, `/v1/chat/completions`) that the real SDK talks to."""
