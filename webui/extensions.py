"""Flask extensions, bound to the app in :func:`webui.app.create_app`."""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from engine.store.models import Base

#: Flask-SQLAlchemy on the engine's own metadata: one schema, two ways in.
db = SQLAlchemy(metadata=Base.metadata)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
