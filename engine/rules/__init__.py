"""Decision tables as the PMO admin manages them: versions (draft, published, retired,
effective from a date), the test panel and the what-if over past instances.

``versions`` stores drafts and publishes them (checked by
:mod:`engine.spiff.dmn_checks`); ``replay`` runs a table on test inputs or on the inputs
recorded from past instances (``decision_evaluations``).
"""
