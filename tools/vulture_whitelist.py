"""What vulture cannot see used (`make lint`): names a library reads, not our code.

Decorated entry points (Chalice and Flask routes, the schedule, the authorizer,
pydantic validators, pytest fixtures) are ignored by decorator and the hook names
by name in pyproject.toml; these are the rest. Each line names its class, so
renaming or removing the attribute breaks this file too.
"""

import tarfile

from chalicelib.auth.models import TokenPair
from chalicelib.embedded import _as, _CollectionStore
from chalicelib.images.models import AvatarUrls, ImageVariants
from tests.test_wire import Stamped

# Response fields: pydantic writes them into every response; no code of ours reads them.
TokenPair.token_type
ImageVariants.full
AvatarUrls.medium
AvatarUrls.large
# A test model's fields: the test serialises them, it never reads them one by one.
Stamped.note
Stamped.inner
# tarfile reads a member's owner when it writes it (ec2/deploy.py makes them root).
_member = tarfile.TarInfo()
_member.uid, _member.gid, _member.uname, _member.gname
# mongomock reads what chalicelib/embedded.py sets on its objects: an instance's class
# (its methods become ours) and a loaded collection's "created" flag.
_CollectionStore._is_force_created
_as.__class__
