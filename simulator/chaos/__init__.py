"""The chaos run: one journey over simulated calls through real worker processes under faults and SIGKILLs, then a
check that every recorded call was analysed exactly once, that nothing was lost, and that every request billed twice
was in flight when the process that asked died.

What runs (`run.run_chaos`):

* moto as its own `callpipe local-aws` process; the WXCC simulator and the OpenAI fake on this event loop.
* one or more `callpipe worker --stage <stage>` processes per stage (poll, fetch, transcribe, analyze), each with its
  own `/metrics` port, restarted after a SIGKILL as ECS would restart a task (`workers.Supervisor`).
* faults (`faults`): WXCC probabilistic 5xx / 429 with Retry-After on its API endpoints and truncated recording
  downloads (the simulator's `FaultEngine`), OpenAI 429/500 bursts (the fake's `rate_limit_next` /
  `server_error_next`, set every few seconds), and `kills` SIGKILLs of worker processes chosen while their stage has
  handlers in flight (the `callpipe_messages_in_flight` gauge of that very process).
* permanently bad calls: some recorded calls whose recording never appears (WXCC keeps saying "recorded" but the
  captures query stays empty, past `capture_max_age_s`: fetch FAILS them), and some whose audio the speech-to-text
  service refuses as corrupt (the fake answers 400: transcribe FAILS them).

Short queue visibility timeouts (set on the queues after bootstrap) and a short stage lease make a killed worker's
message come back within seconds.

What is checked (`ChaosReport.problems`, empty when all holds; `checks`, `attribution`):

* every recorded call that was not made bad has exactly one analysis object in S3 and its tracking row is ANALYZED;
* no call was transcribed or analysed twice: the fake's billed requests per (call, chunk), per (call, audio content)
  and per call's analysis (`duplicates`), except a request in flight when the process that asked was SIGKILLed
  (`duplicates_in_flight_at_kill`: the fake wrote its answer to that very process, which died before it had saved
  it; no client can prevent that without an idempotency key at the provider). Every other repeat is
  `duplicates_unexplained` and a problem;
* the journey is COMPLETED and its counters agree with each other and with the truth;
* the DLQs hold exactly the bad calls, each with its reason, and their rows are FAILED with that reason.

`callpipe chaos` (`cli/chaos.py`) and `bench/chaos.py` drive it; `tests/chaos/` runs a CI-sized copy.
"""
