"""Typed asyncio client for camera-service's JSON-RPC 2.0 WebSocket API.

    async with connect("ws://host:8002/ws", token=jwt) as cs:
        print(await cs.get_camera_list())
"""

from ._generated import *  # noqa: F403  (the generated types, error classes and tables)
from ._generated import API_VERSION, ERROR_CLASSES, METHODS, TOPICS, ApiEvent, ErrorCode, GeneratedMethods
from .client import (
    CameraServiceClient,
    Connecting,
    ConnectionState,
    Credential,
    EventMeta,
    ReconnectPolicy,
    Subscription,
    SubscriptionEnd,
    connect,
)
from .errors import ClientConnectionError, RequestTimeoutError, RpcError

__all__ = [
    "API_VERSION",
    "ERROR_CLASSES",
    "METHODS",
    "ApiEvent",
    "CameraServiceClient",
    "ClientConnectionError",
    "Connecting",
    "ConnectionState",
    "Credential",
    "ErrorCode",
    "EventMeta",
    "GeneratedMethods",
    "ReconnectPolicy",
    "RequestTimeoutError",
    "RpcError",
    "Subscription",
    "TOPICS",
    "SubscriptionEnd",
    "connect",
]
