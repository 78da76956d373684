"""The OpenAPI document (/api/v1/openapi.json) and its Swagger UI for integrators (/api/v1/docs).

The UI's scripts and styles come from the installed flask-openapi3-swagger package, served from here:
no CDN, so the page works offline and behind the Great Firewall.
"""

from pathlib import Path

import flask_openapi3_swagger
from flask import current_app, render_template_string, send_from_directory
from flask_openapi3_swagger.templates import swagger_html_string

from pydantic import BaseModel

from app.api import bp

SWAGGER_ASSETS = Path(flask_openapi3_swagger.__file__).parent / "templates" / "swagger"
# The page links its assets as swagger/... and the document as openapi.json, relative to /api/v1/docs.
DOCS_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " \
           "img-src 'self' data:; object-src 'none'; base-uri 'none'"


@bp.get("/openapi.json", doc_ui=False)
def openapi_document():
    return current_app.api_doc


@bp.get("/docs", doc_ui=False)
def api_docs():
    page = render_template_string(swagger_html_string, doc_url="openapi.json", oauth_config=None)
    return page, 200, {"Content-Security-Policy": DOCS_CSP}


class AssetPath(BaseModel):
    filename: str


@bp.get("/swagger/<path:filename>", doc_ui=False)
def api_docs_asset(path: AssetPath):
    return send_from_directory(SWAGGER_ASSETS, path.filename, max_age=86400)
