"""Snapboard's Chalice app: the same object serves Lambda and the EC2 WSGI shim.

Chalice finds ``app`` here (``chalice package``, ``chalice local``); building
it reads no setting and builds no client: the first request does.
"""

from chalicelib.composition import create_app

app = create_app()
