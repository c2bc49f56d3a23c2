"""Athena for logtide's S3 objects: DDL with partition projection from an s3 output's
``s3_key_format`` (:mod:`logtide.agent.companions.athena.ddl`), a local stand-in for
Athena on DuckDB (:mod:`logtide.agent.companions.athena.local`), and Amazon Athena itself
through boto3 (:mod:`logtide.agent.companions.athena.service`), behind
``logtide athena ddl [--apply]|query [--engine duckdb|athena]``."""
