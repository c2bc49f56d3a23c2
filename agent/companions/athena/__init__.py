"""Athena for logtide's S3 objects: DDL with partition projection from an s3 output's
``s3_key_format`` (:mod:`logtide.agent.companions.athena.ddl`), and a local stand-in for
Athena on DuckDB (:mod:`logtide.agent.companions.athena.local`), behind
``logtide athena ddl|query``."""
