# httpx imports httpcore lazily and caches a map of its exception classes. pytester's inline
# runs drop modules first imported inside them, so a later re-import would make new classes that
# the cached map does not know, and httpcore errors would escape unmapped. Import it up front.
import httpcore  # noqa: F401

pytest_plugins = ["tests.loopback_fixtures"]
