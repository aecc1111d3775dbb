"""pytest-promptcheck: regression tests for LLM prompts, collected and run by pytest.

The names a plugin or a ``python:`` check needs are importable from here, whatever module they
live in: ``from pytest_promptcheck import Verdict, SampleContext, CheckArgError, ModelCheck``.
"""

from pytest_promptcheck.checks.api import ModelCheck, SampleContext, Verdict
from pytest_promptcheck.errors import CheckArgError

__all__ = ["CheckArgError", "ModelCheck", "SampleContext", "Verdict", "__version__"]

__version__ = "0.1.0"
