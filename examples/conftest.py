# tools/ needs an instruction-tuned model behind an OpenAI-compatible server (the embedded
# local:gemma-3-270m is a base model that cannot call tools): `pytest examples` leaves it out,
# `pytest examples/tools` runs it (tools/README.md). flows/steps holds the prompt files the
# flow in flows/ calls; they are tested through it.
collect_ignore = ["tools", "flows/steps"]
