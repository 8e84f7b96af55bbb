pytest_plugins = ["imageworks_core.testing"]
