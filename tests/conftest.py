# pytester's inline runs drop the modules first imported inside them, and a later run imports them
# again as new classes. Two libraries keep references to the old ones and break, so they are
# imported here, up front:
# - httpx2 caches a map of httpcore2's exception classes: httpcore2 errors would escape unmapped;
# - LibYAML's C extension cannot be re-initialised and keeps yaml.nodes' old classes: every node
#   would get the tag None ("could not determine a constructor");
# - iregexp_check (a PyO3 extension, under the json_path check) cannot be initialised twice: a
#   flow's step lookup by name may load a file with a json_path check inside a run.
import httpcore2  # noqa: F401
import iregexp_check  # noqa: F401
import yaml  # noqa: F401

pytest_plugins = ["tests.loopback_fixtures", "tests.anthropic_fixtures"]
