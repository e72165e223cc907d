from worker_support import fake_sfn, s3rver  # noqa: F401 - fixtures
