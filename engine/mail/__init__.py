"""E-mail: the outbox (written with each notification, :mod:`engine.notifications`) is
rendered (:mod:`.templates`) and sent after commit by the worker (:mod:`.delivery`)
through SMTP (:mod:`.smtp`)."""
