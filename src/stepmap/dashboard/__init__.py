"""A live web dashboard of state machines, executions and Map Runs, served on the endpoint's port.

:class:`DashboardApp` is the HTTP service (the page, its static files and a JSON read API over a state
directory's journal); :func:`write_report` writes one execution as a self-contained HTML file. The page is
plain JavaScript with the dagre layout library vendored under ``static/vendor`` (built at development time
from the npm registry; nothing is built or downloaded on a user's machine).
"""

from stepmap.dashboard.app import DashboardApp
from stepmap.dashboard.report import write_report

__all__ = ["DashboardApp", "write_report"]
