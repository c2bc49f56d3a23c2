"""botocore's data files, loaded once per process and cut down to what the outputs use.

A stock botocore session parses ``endpoints.json`` (every service in every partition, ~6 MiB
as Python objects) and each client's whole service model (S3 ~1.6 MiB, CloudWatch Logs
~1.3 MiB, mostly documentation and operations we never call), and each output's session
does it again. :func:`shared_loader` gives every session one :class:`TrimmedLoader` that
keeps, always from the installed botocore's own files (so an upgrade is followed, never
shadowed by a copy of ours):

- in ``endpoints``: the partitions whole (regions, defaults) and the entries of the services
  a client is made for (those of :data:`OPERATIONS` from the start; any other service, e.g.
  STS for ``role_arn`` or SSO for a profile, is copied in from the file when its client is
  made, before its endpoint is resolved);
- in the service models of :data:`OPERATIONS`: the operations listed there, every exception,
  and the shapes they reach; documentation is dropped everywhere. Other services' models are
  kept whole.

Requests are the same as a stock client's; ``tests/unit/sinks/aws/test_models.py`` builds
every request of :data:`OPERATIONS` with both and compares them. An output that calls a new
service or operation adds it here and to that test's calls (a service not listed still
works, with botocore's whole model).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from botocore.loaders import Loader

# The operations the outputs call, and those botocore itself calls on a client of ours:
# S3's region redirector asks HeadBucket, and directory buckets need CreateSession.
OPERATIONS: dict[str, frozenset[str]] = {
    "s3": frozenset(
        {
            "PutObject",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
            "AbortMultipartUpload",
            "ListMultipartUploads",
            "ListParts",
            "HeadBucket",
            "CreateSession",
        }
    ),
    "logs": frozenset(
        {
            "PutLogEvents",
            "GetLogEvents",
            "CreateLogGroup",
            "CreateLogStream",
            "PutRetentionPolicy",
        }
    ),
    "firehose": frozenset({"PutRecordBatch"}),
    "kinesis": frozenset({"PutRecords"}),
}

# endpoints.json names services by endpoint prefix; for ours it is the service name.
_ENDPOINT_PREFIXES = frozenset(OPERATIONS)


class TrimmedLoader(Loader):
    """A botocore ``Loader`` whose cached data keeps only what :data:`OPERATIONS` needs.

    Trimming is done in place on the objects botocore's own caches hold, so the full data
    is garbage as soon as a file has been read.
    """

    def __init__(self, search_paths: list[str] | None = None) -> None:
        super().__init__(extra_search_paths=search_paths)
        self._endpoints: dict[str, Any] | None = None
        self._endpoints_path: str | None = None
        self._kept: set[str] = set(_ENDPOINT_PREFIXES)
        self._trimmed: set[int] = set()  # ids of models botocore's cache keeps alive
        # Sessions may create clients from botocore's threads (credential refreshes).
        self._lock = threading.Lock()

    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        data, path = super().load_data_with_path(name)
        if name == "endpoints" and self._endpoints is None and self.is_builtin_path(path):
            with self._lock:
                _keep_services(data, self._kept)
                self._endpoints, self._endpoints_path = data, path
        return data, path

    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        model = super().load_service_model(service_name, type_name, api_version)
        if type_name != "service-2":
            return model
        prefix = model.get("metadata", {}).get("endpointPrefix", service_name)
        self._keep_endpoint(prefix)
        operations = OPERATIONS.get(service_name)
        if operations is not None and id(model) not in self._trimmed:
            trim_model(model, operations)
            self._trimmed.add(id(model))
        return model

    def _keep_endpoint(self, prefix: str) -> None:
        """Put ``prefix``'s entries back into the endpoints botocore resolves from."""
        with self._lock:
            if prefix in self._kept:
                return
            self._kept.add(prefix)
            if self._endpoints is None or self._endpoints_path is None:
                return
            full = self.file_loader.load_file(self._endpoints_path)
            by_partition = {p["partition"]: p for p in full["partitions"]}
            for partition in self._endpoints["partitions"]:
                entry = by_partition.get(partition["partition"], {}).get("services", {})
                if prefix in entry:
                    partition["services"][prefix] = entry[prefix]


def _keep_services(endpoints: dict[str, Any], kept: set[str]) -> None:
    for partition in endpoints.get("partitions", []):
        services = partition.get("services", {})
        partition["services"] = {k: v for k, v in services.items() if k in kept}


def trim_model(model: dict[str, Any], operations: frozenset[str]) -> None:
    """Keep ``operations``, every exception and the shapes they reach; drop documentation.

    Raises ``KeyError`` naming an operation the model does not have (a botocore that
    renamed or dropped it must fail loudly, not build a client without it).
    """
    all_operations = model["operations"]
    missing = operations - set(all_operations)
    if missing:
        raise KeyError(f"botocore's {model['metadata'].get('serviceId')} model has no {missing}")
    shapes = model["shapes"]
    pending = [name for name, shape in shapes.items() if shape.get("exception")]
    for name in operations:
        operation = all_operations[name]
        pending.extend(operation[k]["shape"] for k in ("input", "output") if k in operation)
        pending.extend(error["shape"] for error in operation.get("errors", ()))
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        shape = shapes[name]
        pending.extend(shape[k]["shape"] for k in ("member", "key", "value") if k in shape)
        pending.extend(member["shape"] for member in shape.get("members", {}).values())
    model["operations"] = {
        k: _undocumented(v) for k, v in all_operations.items() if k in operations
    }
    model["shapes"] = {k: _undocumented(v) for k, v in shapes.items() if k in reached}
    model.pop("documentation", None)


def _undocumented(node: Any) -> Any:
    if isinstance(node, dict):
        node.pop("documentation", None)
        node.pop("documentationUrl", None)
        for value in node.values():
            _undocumented(value)
    elif isinstance(node, list):
        for value in node:
            _undocumented(value)
    return node


_LOADERS: dict[str | None, TrimmedLoader] = {}


def shared_loader(data_path: str | None) -> TrimmedLoader:
    """The process's loader for botocore's ``data_path`` setting (``AWS_DATA_PATH``)."""
    loader = _LOADERS.get(data_path)
    if loader is None:
        # as botocore's create_loader reads the setting
        paths = (
            [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
            if data_path
            else []
        )
        loader = _LOADERS[data_path] = TrimmedLoader(paths or None)
    return loader
