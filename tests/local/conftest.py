"""The local stack as `make run` starts it, for tests of local/ that need one running."""

from tests.e2e.conftest import auto_stack  # noqa: F401 - the fixture, shared with tests/e2e
