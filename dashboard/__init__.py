"""Reference dashboard: the partner "Referrals overview" page over the published marts.

queries.py holds every SQL statement (how a BI tool should read the marts), view.py assembles
one view's numbers, charts.py its Vega-Lite charts, app.py serves the page and pdf.py its PDF.
"""
