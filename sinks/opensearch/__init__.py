"""OpenSearch and Elasticsearch outputs (Fluent Bit's ``opensearch`` and ``es``): one
implementation, two option sets."""

from logtide.sinks.opensearch.output import ElasticsearchOutput, OpenSearchOutput

__all__ = ["ElasticsearchOutput", "OpenSearchOutput"]
