"""The EC2 runtime: the WSGI shim, server and host configuration, deploy script."""
