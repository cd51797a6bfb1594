"""The WSGI entry point gunicorn serves on EC2: ``ec2.wsgi:application``.

Importing this module builds the app, as a Lambda cold start does. The adapter
itself lives in ``ec2/shim.py``.
"""

from __future__ import annotations

from ec2.shim import create_application

application = create_application()
