"""PMOflow's workflow engine: SpiffWorkflow wrapped for deploy, run, persist, assign and
schedule. A library with no Flask in it; :class:`engine.api.Engine` is the public surface."""
