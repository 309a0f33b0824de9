"""The bad-input suite runs on the real redis-server through the shared ``db`` fixture
(RESP2 only: the verdicts are about the library, and one server keeps the folder fast)."""
