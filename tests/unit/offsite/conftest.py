"""The loopback servers the copy's real-server tests talk to (started on first use)."""

from tests.servers.s3 import aws_environment, private_s3_server, s3_server
from tests.servers.sftp import sftp_server

__all__ = ["aws_environment", "private_s3_server", "s3_server", "sftp_server"]
