# tools/ needs an instruction-tuned model behind an OpenAI-compatible server (the embedded
# local:gemma-3-270m is a base model that cannot call tools): `pytest examples` leaves it out,
# `pytest examples/tools` runs it (tools/README.md).
# judge/ needs a judge model (--promptcheck-judge-model openai:... or anthropic:...; the embedded
# base model is no judge): `pytest examples/judge` runs it (judge/README.md).
# flows/steps holds the prompt files the flow in flows/ calls; they are tested through it.
collect_ignore = ["tools", "judge", "flows/steps"]
