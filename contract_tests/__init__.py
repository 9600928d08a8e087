"""The contract suite: Schemathesis property tests of the provider documents against the mock, typed client
tests, and an opt-in live mode. See docs/contract-tests.md."""
