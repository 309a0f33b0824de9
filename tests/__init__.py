"""The walrus suite's tests: a package, so that test modules of the same name in different
folders stay distinct and the shared helpers are imported as ``tests.support.<module>``."""
