"""The moto server the suite uses is the one logtide's pytest plugin ships."""

from logtide.agent.companions.local_aws import REGION, MotoServer, free_port, moto_server

__all__ = ["REGION", "MotoServer", "free_port", "moto_server"]
