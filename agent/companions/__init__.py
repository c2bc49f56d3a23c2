"""Commands beside the daemon: ``logtide athena`` (DDL and a local Athena on DuckDB),
``logtide demo`` (the article on one machine) and the local AWS they and the pytest plugin
start (a moto server on 127.0.0.1).

They are kept in one package, apart, because they pull in what a shipper never needs
(boto3, moto, DuckDB) and read logtide's output rather than produce it. The run path
(config -> engine -> plugins) never imports them: ``logtide.agent.cli`` loads a companion by name
only when its subcommand is given, and ``tests/unit/test_layout.py`` holds that rule.
"""
