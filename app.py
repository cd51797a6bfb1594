"""Snapboard's Chalice app: the same object serves Lambda and the EC2 WSGI shim."""

from chalicelib import logs, middleware
from chalicelib.routing import Api
from chalicelib.system.routes import router as system_router

logs.configure()

app = Api("snapboard")
app.register_middleware(middleware.http_middleware, "http")
app.include(system_router)
app.install_fallbacks()
