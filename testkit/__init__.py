"""What the tests and the benchmarks share: in-memory fakes of the core's ports, a stand-in Bot
Connector, Azurite, clocks, the storage round-trip counter, the people of the test directory,
the case scenarios the unit, report and HTTP tests walk, and the fuzz test's odd activities.
Never shipped: pyproject.toml's packages leave it out of the wheel, and .webappignore out of the
deployment."""
