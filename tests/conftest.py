"""Fixtures shared by every test package: the loopback S3/DynamoDB protocol server (moto)."""

from tests.storage.conftest import aws_endpoint, aws_env

__all__ = ["aws_endpoint", "aws_env"]
