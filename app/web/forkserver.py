"""What the compute pool's forkserver imports at its start: the jobs (so workers fork ready to run), and
the rule that it ends with the server that started it (app/web/orphans.py)."""

from app.web import jobs  # noqa: F401  (preloaded: every worker forks with it imported)
from app.web.orphans import watch_parent

watch_parent()
