"""Snapboard's Chalice app: the same object serves Lambda and the EC2 WSGI shim."""

from chalicelib import logs, middleware
from chalicelib.auth.routes import authenticate_request
from chalicelib.auth.routes import router as auth_router
from chalicelib.images import jobs
from chalicelib.images.routes import router as images_router
from chalicelib.posts.routes import router as posts_router
from chalicelib.routing import Api
from chalicelib.system.routes import router as system_router
from chalicelib.users.routes import admin_router
from chalicelib.users.routes import router as users_router

logs.configure()

app = Api("snapboard")
app.register_middleware(middleware.http_middleware, "http")
app.authenticator = authenticate_request
app.include(system_router)
app.include(auth_router)
app.include(users_router)
app.include(admin_router)
app.include(posts_router)
app.include(images_router)
app.install_fallbacks()
# The bodies API Gateway passes as bytes (base64): uploads and media. Chalice's
# defaults (audio, video, archives) know neither multipart nor WebP/AVIF, and every
# request is matched against the whole list, so it holds exactly what we serve.
app.api.binary_types = list(jobs.BINARY_TYPES)
app.register_blueprint(jobs.schedules)
