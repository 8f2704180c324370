"""The team server's logins: MLflow's basic-auth app, plus one rule of this project's.

MLflow's permission model (READ < EDIT < MANAGE per experiment and registered model) lets any
account with EDIT on a model set any of its aliases. ``@champion`` is what every teammate and
every server runs, so moving it is a release decision, not a pipeline step: here setting or
deleting ``@champion`` needs MANAGE on the registered model (or an admin account), while
``@challenger`` and every other write keep MLflow's own rules. The pipeline's account gets EDIT
(it logs runs, registers versions, moves ``@challenger``); whoever releases gets MANAGE.

Served as the ``mlflow.app`` entry point ``summarizer-auth`` (``mlflow server --app-name
summarizer-auth``); :mod:`summarizer.tracking_server` starts it. Everything else (users,
passwords, grants, the 401/403 answers) is MLflow's, configured the way MLflow documents it:
``MLFLOW_AUTH_CONFIG_PATH``.
"""

from __future__ import annotations

from typing import Any

APP_NAME = "summarizer-auth"  # the entry point in pyproject.toml
# Aliases whose move is a release: MANAGE on the model, not EDIT. Registry aliases are
# lowercased by MLflow's clients, compared case-insensitively here all the same.
RELEASE_ALIASES = frozenset({"champion"})
ALIAS_ROUTE_SUFFIX = "/mlflow/registered-models/alias"
# The registered-model tag through which two promotes at once find their winner
# (:mod:`summarizer.registry.champion_claim`): whoever may not promote may not forge it either.
RELEASE_TAGS = frozenset({"promotion_claim"})
TAG_ROUTE_SUFFIX = "/mlflow/registered-models/set-tag"


def _request_value(request: Any, key: str) -> str | None:
    """``key`` from the JSON body or the query string, whichever the client used."""
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict) and key in body:
        return str(body[key])
    value = request.args.get(key)
    return None if value is None else str(value)


def release_alias_rule() -> Any:
    """Flask ``before_request`` hook: a 403 for a request that sets or deletes a release alias,
    or sets the promotion claim, without MANAGE on the model. Runs after MLflow's own hook,
    which has already answered 401 to an anonymous request and 403 to one without EDIT."""
    from flask import request
    from mlflow.server import auth

    if request.method not in ("POST", "DELETE"):
        return None
    if request.path.endswith(ALIAS_ROUTE_SUFFIX):
        alias = (_request_value(request, "alias") or "").lower()
        if alias not in RELEASE_ALIASES:
            return None
        what = f"moving @{alias}"
    elif request.path.endswith(TAG_ROUTE_SUFFIX):
        key = _request_value(request, "key") or ""
        if key not in RELEASE_TAGS:
            return None
        what = f"setting the tag {key}"
    else:
        return None
    if auth.sender_is_admin():
        return None
    name = _request_value(request, "name")
    if name is None:
        return None  # MLflow answers the malformed request itself
    # MLflow's own lookup: the user's grant on this model (or its role's), else the default.
    permission = auth._get_registered_model_permission(name)
    if permission.can_manage:
        return None
    response = auth.make_forbidden_response()
    response.set_data(
        f"Permission denied: {what} of registered model '{name}' needs MANAGE permission on "
        "it (EDIT may register versions and move other aliases)"
    )
    return response


def create_app(app: Any = None) -> Any:
    """MLflow's basic-auth app with :func:`release_alias_rule` after its own checks."""
    from mlflow.server import app as mlflow_app
    from mlflow.server.auth import create_app as create_basic_auth_app

    flask_app = app if app is not None else mlflow_app
    served = create_basic_auth_app(flask_app)
    # Registered after MLflow's hook, so it only ever sees authenticated requests that MLflow
    # already allowed.
    flask_app.before_request(release_alias_rule)
    return served
