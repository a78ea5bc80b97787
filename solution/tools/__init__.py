"""The tool wing: what a practitioner points at their own logs and servers, and a learner may skip.

    logs.py       write the story's log; query any JSON-lines log; pull one request's story
    dashboard.py  lab 2's dashboard on a log (--from), as an HTML page, as Prometheus metrics
    gateway.py    lab 4's gateway over real HTTP (serve, load, live)
    show.py       the demo's "Show" page and closing timeline: what each lab found
    logread.py    reading JSON-lines logs: every line read or counted as bad, with the reason
    page.py       self-contained HTML pages and SVG charts

Tools import the lessons (solution/labN_*.py) and call their building blocks; a lesson never
imports a tool.
"""
