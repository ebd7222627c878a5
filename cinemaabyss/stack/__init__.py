"""The no-Docker local stack: PostgreSQL, Redis and Kafka as local processes plus the app processes.

Entry points are the ``cinemaabyss stack ...`` commands (``cinemaabyss.commands.stack``), which
call :mod:`cinemaabyss.stack.orchestrator`. Everything the stack creates lives under
``RUN_DIR`` (default ``.run/``): ``logs/<name>.log``, ``pids/<name>.pid``, service data and
``stack.env`` (generated secrets, read by the settings module with the lowest priority).
"""
