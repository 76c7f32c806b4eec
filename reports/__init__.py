"""Board reports: aggregate figures over a period, charts, and synthetic sample data.

Nothing here identifies an adult or a person: the aggregate report holds counts, medians and
agency names only (see `reports.figures`).
"""
