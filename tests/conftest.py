pytest_plugins = ["tests.loopback_fixtures"]
