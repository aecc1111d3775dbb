"""pytest-promptcheck: regression tests for LLM prompts, collected and run by pytest."""

__version__ = "0.1.0"
