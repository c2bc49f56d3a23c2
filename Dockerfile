# syntax=docker/dockerfile:1
# logtide: a Fluent Bit-compatible log shipper. Two stages: the first builds logtide and its
# dependencies as wheels, the final one installs only those wheels (no compilers, no pip cache).
#
#   docker build -t logtide:0.1.0 .
#   docker run --rm -v "$PWD/examples/article:/fluent-bit/etc:ro" logtide:0.1.0 --dry-run -c /fluent-bit/etc/fluent-bit.conf
#
# The image runs as the unprivileged user "logtide" (uid 10001). Where the log files or the
# state folders are owned by root (EKS nodes: /var/log/pods is root:root 0640), run it as root
# with every capability dropped: `docker run --user 0 --cap-drop ALL ...`, or in Kubernetes
# runAsUser: 0 with capabilities drop ALL (k8s/daemonset.yaml does this).

# The base is pinned by version; bump both FROM lines together.
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
# logtide/ holds the public face and links to the three packages; the wheel gets real files.
COPY logtide ./logtide
COPY agent ./agent
COPY streamsql ./streamsql
COPY sinks ./sinks
# The exact versions CI tested (constraints.txt, from `make lock`): the same source builds
# the same image.
RUN python -m pip wheel --wheel-dir /wheels -c constraints.txt .

FROM python:3.11.11-slim-bookworm
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="logtide" \
      org.opencontainers.image.description="Fluent Bit-compatible log shipper for Kubernetes: tail, parse, stream SQL, S3/CloudWatch Logs/Firehose without losing a line" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="python:3.11.11-slim-bookworm"

# No .pyc writes at run time (read-only root filesystem); the wheels are byte-compiled at
# install time instead. Unbuffered output so the agent's log reaches `kubectl logs` at once.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# journalctl, through which the systemd input reads the node's journal (the journal folder is
# mounted from the host; see docs/kubernetes.md). Debian's systemd package without its
# recommends: ~19 MB installed (systemd 9.7 MB, libsystemd-shared 5.4 MB, libraries). The
# version is pinned like the base image; bump it with the FROM lines.
ARG SYSTEMD_VERSION=252.39-1~deb12u2
RUN apt-get update \
    && apt-get install -y --no-install-recommends "systemd=${SYSTEMD_VERSION}" \
    && rm -rf /var/lib/apt/lists/*

RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links=/wheels "logtide==${VERSION}" \
    && groupadd --system --gid 10001 logtide \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin logtide \
    && mkdir -p /fluent-bit/etc /var/log/logtide \
    && chown logtide:logtide /var/log/logtide

# A default configuration at the article's mount point; Kubernetes mounts the ConfigMap over it.
COPY examples/article/ /fluent-bit/etc/
# Fluent Bit's stock parsers where its image has them (configs such as the Helm chart's name
# /fluent-bit/etc/parsers.conf), written from logtide's own definitions; the article's own
# parsers file moves aside and its config follows it.
RUN mv /fluent-bit/etc/parsers.conf /fluent-bit/etc/article-parsers.conf \
    && sed -i 's/^\(\s*Parsers_File\s\+\)parsers\.conf$/\1article-parsers.conf/' /fluent-bit/etc/fluent-bit.conf \
    && python -m logtide.agent.parsers.stock > /fluent-bit/etc/parsers.conf

# State (tail checkpoint DB, S3 store_dir) lives on mounted paths such as /var/log, never in
# the image, so the root filesystem can be read-only.
VOLUME ["/var/log/logtide"]
USER 10001:10001
EXPOSE 2020

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:2020/api/v1/health', timeout=4)"]

ENTRYPOINT ["logtide"]
CMD ["-c", "/fluent-bit/etc/fluent-bit.conf"]
