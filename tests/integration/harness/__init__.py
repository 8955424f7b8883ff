"""Test harness shared by clarion's integration tests.

registry      real docker-registry processes (plain, htpasswd, token, TLS)
              and their pytest fixtures
token_server  the project's token server (a copy of shared/tools/token-server.py)
clarion       the binary's environment, PostgreSQL test databases, and
              `clarion update` with a configuration file
images        real OCI / Docker images built from files in Python: push them to
              a registry, or write them as an OCI layout or a `docker save` tar
"""
